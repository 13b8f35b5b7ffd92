export { dataDisplay } from './dataDisplay';
export { inputs } from './inputs';
export { navigation } from './navigation';
export { surfaces } from './surfaces';
