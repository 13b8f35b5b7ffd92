// The classes of the project with their number keys; the active one is used for new shapes.

import { useState, type FormEvent } from 'react';
import { Box, IconButton, InputAdornment, List, ListItemButton, Stack, TextField, Tooltip, Typography } from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import { colorForLabel } from '@/theme';

export function ClassPicker({
  classes,
  counts,
  active,
  onPick,
  onAdd,
}: {
  classes: string[];
  counts: Map<string, number>;
  active: string | null;
  onPick: (label: string) => void;
  onAdd: (label: string) => void;
}) {
  const [name, setName] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const t = name.trim();
    if (!t) return;
    onAdd(t);
    onPick(t);
    setName('');
  };
  return (
    <Box>
      <Typography variant="overline" color="text.secondary">
        Classes
      </Typography>
      {classes.length === 0 && (
        <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
          Add the classes you want to label, e.g. “car”, “person”.
        </Typography>
      )}
      <List dense disablePadding sx={{ maxHeight: 220, overflow: 'auto' }} aria-label="Classes">
        {classes.map((c, i) => (
          <ListItemButton key={c} selected={c === active} onClick={() => onPick(c)} sx={{ py: 0.3, borderRadius: 1.5 }} data-class={c}>
            <Box sx={{ width: 12, height: 12, borderRadius: 0.5, bgcolor: colorForLabel(c, classes), mr: 1, flexShrink: 0 }} />
            <Typography variant="body2" noWrap sx={{ flex: 1, fontWeight: c === active ? 700 : 450 }}>
              {c}
            </Typography>
            <Typography variant="caption" color="text.secondary" sx={{ mr: 1 }}>
              {counts.get(c) ?? 0}
            </Typography>
            {i < 9 && (
              <Box component="kbd" sx={{ fontSize: 11, px: 0.6, border: 1, borderColor: 'divider', borderRadius: 0.8, color: 'text.secondary', fontFamily: 'inherit' }}>
                {i + 1}
              </Box>
            )}
          </ListItemButton>
        ))}
      </List>
      <Stack component="form" onSubmit={submit} direction="row" sx={{ mt: 1 }}>
        <TextField
          size="small"
          placeholder="New class"
          value={name}
          onChange={(e) => setName(e.target.value)}
          fullWidth
          slotProps={{
            htmlInput: { 'aria-label': 'New class name' },
            input: {
              endAdornment: (
                <InputAdornment position="end">
                  <Tooltip title="Add class">
                    <span>
                      <IconButton type="submit" size="small" edge="end" disabled={!name.trim()} aria-label="Add class">
                        <AddIcon fontSize="small" />
                      </IconButton>
                    </span>
                  </Tooltip>
                </InputAdornment>
              ),
            },
          }}
        />
      </Stack>
    </Box>
  );
}
