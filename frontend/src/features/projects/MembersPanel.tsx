// Who may see and edit a project: owners manage members, editors label, viewers look.

import { useState, type FormEvent } from 'react';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  CardHeader,
  IconButton,
  MenuItem,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import PersonRemoveIcon from '@mui/icons-material/PersonRemoveOutlined';
import { ApiError, errorMessage } from '@/api/client';
import { useAddMember, useMembers, useRemoveMember } from '@/api/queries';
import type { MemberRole } from '@/api/types';
import { ErrorState } from '@/components/ErrorState';
import { SkeletonRows } from '@/components/LoadingState';
import { useNotify } from '@/components/notify';
import { useAuth } from '@/features/auth/AuthProvider';

const roleHelp: Record<MemberRole, string> = {
  owner: 'Also manages members and settings',
  editor: 'Uploads, labels and trains',
  viewer: 'Looks, does not change anything',
};

export function MembersPanel({ projectId, canManage }: { projectId: number; canManage: boolean }) {
  const members = useMembers(projectId);
  const add = useAddMember(projectId);
  const remove = useRemoveMember(projectId);
  const notify = useNotify();
  const { user } = useAuth();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<MemberRole>('editor');
  const [emailError, setEmailError] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) {
      setEmailError('Enter the email address of a registered user.');
      return;
    }
    setEmailError(null);
    add.mutate(
      { email: email.trim(), role },
      {
        onSuccess: () => {
          notify(`Added ${email.trim()} as ${role}`);
          setEmail('');
        },
        onError: (err) => {
          if (err instanceof ApiError && err.status === 404) setEmailError('No user with this email. They need to create an account first.');
          else setEmailError(errorMessage(err));
        },
      },
    );
  };

  return (
    <Card>
      <CardHeader title="Members" subheader="People who can work on this project." />
      <CardContent>
        {canManage && (
          <Box component="form" onSubmit={submit} noValidate sx={{ mb: 2 }}>
            <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1} sx={{ alignItems: 'flex-start' }}>
              <TextField label="Email" value={email} onChange={(e) => setEmail(e.target.value)} error={!!emailError} helperText={emailError ?? ' '} sx={{ flex: 1 }} />
              <TextField select label="Role" value={role} onChange={(e) => setRole(e.target.value as MemberRole)} sx={{ width: 240 }} helperText={roleHelp[role]}>
                {(['viewer', 'editor', 'owner'] as MemberRole[]).map((r) => (
                  <MenuItem key={r} value={r}>
                    {r[0].toUpperCase() + r.slice(1)}
                  </MenuItem>
                ))}
              </TextField>
              <Button type="submit" variant="contained" disabled={add.isPending} sx={{ mt: { sm: '2px' } }}>
                Add member
              </Button>
            </Stack>
          </Box>
        )}
        {members.isPending ? (
          <SkeletonRows rows={2} />
        ) : members.isError ? (
          <ErrorState error={members.error} onRetry={() => members.refetch()} />
        ) : members.data.length === 0 ? (
          <Alert severity="info">Only you can see this project.</Alert>
        ) : (
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Email</TableCell>
                <TableCell>Role</TableCell>
                <TableCell align="right" />
              </TableRow>
            </TableHead>
            <TableBody>
              {members.data.map((m) => (
                <TableRow key={m.user_id}>
                  <TableCell>
                    {m.email}
                    {m.user_id === user?.id && (
                      <Typography component="span" color="text.secondary" variant="body2">
                        {' '}
                        (you)
                      </Typography>
                    )}
                  </TableCell>
                  <TableCell sx={{ textTransform: 'capitalize' }}>{m.role}</TableCell>
                  <TableCell align="right">
                    {canManage && m.user_id !== user?.id && (
                      <Tooltip title="Remove from project">
                        <IconButton
                          size="small"
                          aria-label={`Remove ${m.email}`}
                          onClick={() => remove.mutate(m.user_id, { onError: (e) => notify(errorMessage(e), 'error'), onSuccess: () => notify(`Removed ${m.email}`) })}
                        >
                          <PersonRemoveIcon fontSize="small" />
                        </IconButton>
                      </Tooltip>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
