import { Alert, AlertTitle, Button } from '@mui/material';
import { ApiError, errorMessage } from '@/api/client';

/** An error a person understands, with a retry when one makes sense. */
export function ErrorState({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <Alert
      severity={notFound ? 'warning' : 'error'}
      action={
        onRetry && !notFound ? (
          <Button color="inherit" size="small" onClick={onRetry}>
            Try again
          </Button>
        ) : undefined
      }
    >
      {title && <AlertTitle>{title}</AlertTitle>}
      {errorMessage(error)}
    </Alert>
  );
}
