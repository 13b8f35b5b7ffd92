// The project's images as a paged grid of thumbnails with their annotation counts and
// image-level classes; a click opens the annotation view.

import { useState } from 'react';
import { Link as RouterLink } from 'react-router-dom';
import {
  Box,
  Button,
  Card,
  CardActionArea,
  Chip,
  Grid,
  IconButton,
  MenuItem,
  Pagination,
  Skeleton,
  Stack,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import ImageIcon from '@mui/icons-material/ImageOutlined';
import BrokenImageIcon from '@mui/icons-material/BrokenImageOutlined';
import DeleteIcon from '@mui/icons-material/DeleteOutline';
import UploadIcon from '@mui/icons-material/CloudUploadOutlined';
import { errorMessage } from '@/api/client';
import { useDeleteImage, useImages } from '@/api/queries';
import type { Image } from '@/api/types';
import { ConfirmDialog } from '@/components/ConfirmDialog';
import { EmptyState } from '@/components/EmptyState';
import { ErrorState } from '@/components/ErrorState';
import { useNotify } from '@/components/notify';
import { plural } from '@/components/format';
import { forgetImageUrl, useImageUrl } from './useImageUrl';

function Thumb({ image, projectId, onDelete, canEdit }: { image: Image; projectId: number; onDelete: () => void; canEdit: boolean }) {
  const { url, error } = useImageUrl(image.id);
  const n = image.annotation_count ?? 0;
  return (
    <Card sx={{ position: 'relative', '&:hover .thumb-actions': { opacity: 1 } }} data-testid="image-tile" data-image-id={image.id}>
      <CardActionArea component={RouterLink} to={`/projects/${projectId}/annotate/${image.id}`} aria-label={`Annotate ${image.filename}`}>
        <Box sx={{ aspectRatio: '4 / 3', bgcolor: '#eef0f6', display: 'flex', alignItems: 'center', justifyContent: 'center', overflow: 'hidden' }}>
          {url ? (
            <Box component="img" src={url} alt={image.filename} loading="lazy" sx={{ width: '100%', height: '100%', objectFit: 'cover' }} />
          ) : error ? (
            <BrokenImageIcon color="disabled" />
          ) : (
            <Skeleton variant="rectangular" width="100%" height="100%" />
          )}
        </Box>
        <Box sx={{ px: 1.2, py: 0.8 }}>
          <Typography variant="body2" noWrap title={image.filename} sx={{ fontWeight: 550 }}>
            {image.filename}
          </Typography>
          <Stack direction="row" spacing={0.5} sx={{ mt: 0.3, alignItems: 'center', minHeight: 22 }}>
            {/* An image with only an image-level class is labelled (for classification). */}
            <Typography variant="caption" color={n || image.class_label ? 'text.secondary' : 'warning.main'} data-testid="annotation-count">
              {n ? plural(n, 'annotation') : image.class_label ? 'Image class' : 'Not labelled'}
            </Typography>
            <Box sx={{ flex: 1 }} />
            {image.class_label && <Chip size="small" label={image.class_label} sx={{ height: 20, fontSize: '0.7rem' }} />}
          </Stack>
        </Box>
      </CardActionArea>
      {canEdit && (
        <Box className="thumb-actions" sx={{ position: 'absolute', top: 6, right: 6, opacity: 0, transition: 'opacity 120ms' }}>
          <Tooltip title="Delete image">
            <IconButton size="small" onClick={onDelete} sx={{ bgcolor: 'rgba(255,255,255,0.9)', '&:hover': { bgcolor: '#fff' } }} aria-label={`Delete ${image.filename}`}>
              <DeleteIcon fontSize="small" />
            </IconButton>
          </Tooltip>
        </Box>
      )}
    </Card>
  );
}

export function ImageGrid({ projectId, onUpload, canEdit }: { projectId: number; onUpload: () => void; canEdit: boolean }) {
  const [page, setPage] = useState(1);
  const [perPage, setPerPage] = useState(24);
  const images = useImages(projectId, page, perPage);
  const remove = useDeleteImage(projectId);
  const notify = useNotify();
  const [deleting, setDeleting] = useState<Image | null>(null);

  if (images.isPending)
    return (
      <Grid container spacing={1.5}>
        {Array.from({ length: 8 }, (_, i) => (
          <Grid key={i} size={{ xs: 6, sm: 4, md: 3, lg: 2 }}>
            <Skeleton variant="rounded" sx={{ aspectRatio: '4 / 3', height: 'auto' }} />
          </Grid>
        ))}
      </Grid>
    );
  if (images.isError) return <ErrorState error={images.error} title="Could not load the images" onRetry={() => images.refetch()} />;
  const { items, total } = images.data;
  if (total === 0)
    return (
      <EmptyState
        icon={<ImageIcon />}
        title="No images in this project"
        description="Upload images (drag and drop many at once) or import a COCO, YOLO or ImageFolder dataset."
        action={
          canEdit ? (
            <Button variant="contained" startIcon={<UploadIcon />} onClick={onUpload}>
              Upload images
            </Button>
          ) : undefined
        }
      />
    );
  const pages = Math.max(1, Math.ceil(total / perPage));
  return (
    <>
      <Stack direction="row" sx={{ mb: 1.5, alignItems: 'center' }}>
        <Typography color="text.secondary" variant="body2" sx={{ flex: 1 }}>
          {plural(total, 'image')} · showing {(page - 1) * perPage + 1}–{Math.min(total, page * perPage)}
        </Typography>
        <TextField
          select
          size="small"
          value={perPage}
          onChange={(e) => {
            setPerPage(Number(e.target.value));
            setPage(1);
          }}
          slotProps={{ htmlInput: { 'aria-label': 'Images per page' } }}
        >
          {[24, 48, 96].map((n) => (
            <MenuItem key={n} value={n}>
              {n} per page
            </MenuItem>
          ))}
        </TextField>
      </Stack>
      <Grid container spacing={1.5} sx={{ opacity: images.isPlaceholderData ? 0.6 : 1 }}>
        {items.map((img) => (
          <Grid key={img.id} size={{ xs: 6, sm: 4, md: 3, lg: 2 }}>
            <Thumb image={img} projectId={projectId} canEdit={canEdit} onDelete={() => setDeleting(img)} />
          </Grid>
        ))}
      </Grid>
      {pages > 1 && (
        <Stack sx={{ mt: 2, alignItems: 'center' }}>
          <Pagination count={pages} page={page} onChange={(_, p) => setPage(p)} color="primary" />
        </Stack>
      )}
      <ConfirmDialog
        open={!!deleting}
        title="Delete this image?"
        body={<>“{deleting?.filename}” and all its annotations will be deleted. This cannot be undone.</>}
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() =>
          deleting &&
          remove.mutate(deleting.id, {
            onSuccess: () => {
              forgetImageUrl(deleting.id);
              notify(`Deleted ${deleting.filename}`);
              setDeleting(null);
            },
            onError: (e) => notify(errorMessage(e), 'error'),
          })
        }
      />
    </>
  );
}
