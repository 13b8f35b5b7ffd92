/** Thrown by a step that cannot run on this server (as opposed to failing): reported as SKIP. */
export class Skip extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'Skip';
  }
}
