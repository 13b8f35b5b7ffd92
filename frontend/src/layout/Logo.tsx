import { Box, Stack, Typography } from '@mui/material';

/** The mark: an "F" with a bounding box, as in the favicon. */
export function Logo({ size = 28, withName = false, light = false }: { size?: number; withName?: boolean; light?: boolean }) {
  return (
    <Stack direction="row" spacing={1.2} sx={{ alignItems: 'center' }}>
      <Box component="svg" viewBox="0 0 32 32" sx={{ width: size, height: size, flexShrink: 0 }} aria-hidden>
        <rect width="32" height="32" rx="7" fill="#3f51b5" />
        <path d="M8 9h16v4H13v3h9v4h-9v5H8z" fill="#fff" />
        <rect x="19" y="19" width="6" height="6" rx="1" fill="none" stroke="#ffca28" strokeWidth="2" />
      </Box>
      {withName && (
        <Typography sx={{ fontWeight: 750, letterSpacing: -0.3, fontSize: '1.08rem', color: light ? '#fff' : 'text.primary' }}>
          AnnotateForge
        </Typography>
      )}
    </Stack>
  );
}
