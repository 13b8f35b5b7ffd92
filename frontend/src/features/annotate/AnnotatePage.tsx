// The annotation view: tools on the left, the image in the middle, classes, the image-level
// class, the shapes and model predictions on the right. Every change is saved at once.
// Keyboard first: see `shortcuts.ts`.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import {
  Alert,
  Autocomplete,
  Box,
  Chip,
  Dialog,
  DialogContent,
  DialogTitle,
  Divider,
  IconButton,
  List,
  ListItemButton,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableRow,
  TextField,
  ToggleButton,
  ToggleButtonGroup,
  Tooltip,
  Typography,
} from '@mui/material';
import NearMeIcon from '@mui/icons-material/NearMeOutlined';
import CropSquareIcon from '@mui/icons-material/CropSquare';
import CircleIcon from '@mui/icons-material/RadioButtonUnchecked';
import PolylineIcon from '@mui/icons-material/PolylineOutlined';
import ZoomInIcon from '@mui/icons-material/ZoomIn';
import ZoomOutIcon from '@mui/icons-material/ZoomOut';
import FitIcon from '@mui/icons-material/FitScreen';
import PrevIcon from '@mui/icons-material/ChevronLeft';
import NextIcon from '@mui/icons-material/ChevronRight';
import BackIcon from '@mui/icons-material/ArrowBack';
import KeyboardIcon from '@mui/icons-material/KeyboardOutlined';
import DeleteIcon from '@mui/icons-material/DeleteOutline';
import SmartIcon from '@mui/icons-material/SmartToyOutlined';
import UndoIcon from '@mui/icons-material/Undo';
import * as ep from '@/api/endpoints';
import { useImage, useProject, useSetImageClass } from '@/api/queries';
import type { AnnotationData, AnnotationPatch, PredictedAnnotation } from '@/api/types';
import { ErrorState } from '@/components/ErrorState';
import { LoadingState } from '@/components/LoadingState';
import { useNotify } from '@/components/notify';
import { errorMessage } from '@/api/client';
import { colorForLabel } from '@/theme';
import { useImageUrl } from '@/features/projects/useImageUrl';
import { AnnotationCanvas, type CanvasHandle, type CanvasShape } from './AnnotationCanvas';
import { ClassPicker } from './ClassPicker';
import { roundData } from './geometry';
import { PredictionsPanel, type PendingPrediction } from './PredictionsPanel';
import { commandForKey, isTypingTarget, SHORTCUTS, type Tool } from './shortcuts';
import { push as pushUndo, recreation, remapIds, reversal, type UndoEntry } from './undo';
import { useAnnotationStore } from './useAnnotationStore';
import { neighbours, useImageIds } from './useImageIds';
import { useProjectClasses } from './useProjectClasses';

const tools: { tool: Tool; label: string; key: string; icon: React.ReactNode }[] = [
  { tool: 'select', label: 'Select and edit', key: 'V', icon: <NearMeIcon sx={{ transform: 'scaleX(-1)' }} /> },
  { tool: 'box', label: 'Box', key: 'B', icon: <CropSquareIcon /> },
  { tool: 'circle', label: 'Circle', key: 'C', icon: <CircleIcon /> },
  { tool: 'polygon', label: 'Polygon', key: 'P', icon: <PolylineIcon /> },
];

const typeLabel: Record<string, string> = { box: 'Box', rectangle: 'Rectangle', circle: 'Circle', polygon: 'Polygon' };

export function AnnotatePage() {
  const params = useParams();
  const projectId = Number(params.projectId);
  const imageId = Number(params.imageId);
  const navigate = useNavigate();
  const notify = useNotify();
  const project = useProject(projectId);
  const image = useImage(imageId);
  const { url } = useImageUrl(imageId);
  const ids = useImageIds(projectId);
  const nav = neighbours(ids.data, imageId);
  const store = useAnnotationStore(imageId, projectId);
  const setImageClass = useSetImageClass(imageId, projectId);
  const imageClass = image.data?.class_label ?? null;
  const extra = useMemo(() => (imageClass ? [imageClass] : []), [imageClass]);
  const { classes, counts, addClass } = useProjectClasses(projectId, extra);
  const canvas = useRef<CanvasHandle>(null);

  const [tool, setTool] = useState<Tool>('box');
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [activeClass, setActiveClass] = useState<string | null>(null);
  const [overlay, setOverlay] = useState<PendingPrediction[]>([]);
  const [scale, setScale] = useState(1);
  const [help, setHelp] = useState(false);
  const [needClass, setNeedClass] = useState(false);

  useEffect(() => {
    if (activeClass === null && classes.length) setActiveClass(classes[0]);
  }, [classes, activeClass]);
  // Undo history of this image's saved edits.
  const undoStack = useRef<UndoEntry[]>([]);
  const [canUndo, setCanUndo] = useState(false);
  const record = useCallback((e: UndoEntry) => {
    undoStack.current = pushUndo(undoStack.current, e);
    setCanUndo(true);
  }, []);
  useEffect(() => {
    setSelectedId(null);
    undoStack.current = [];
    setCanUndo(false);
  }, [imageId]);

  const updateShape = useCallback(
    async (id: number, patch: AnnotationPatch) => {
      const before = await store.update(id, patch);
      if (before) record({ kind: 'updated', id, before: reversal(before, patch) });
    },
    [store, record],
  );
  const removeShape = useCallback(
    async (id: number) => {
      const removed = await store.remove(id);
      if (removed) record({ kind: 'deleted', annotation: removed });
    },
    [store, record],
  );
  // Undos run one after another: undoing a delete re-creates the shape under a new id, and the
  // next undo may need that id.
  const undoChain = useRef<Promise<void>>(Promise.resolve());
  const undo = useCallback(() => {
    undoChain.current = undoChain.current.then(async () => {
      const e = undoStack.current.pop();
      setCanUndo(undoStack.current.length > 0);
      if (!e) return;
      if (e.kind === 'created') {
        await store.remove(e.id);
        setSelectedId((s) => (s === e.id ? null : s));
      } else if (e.kind === 'updated') {
        await store.update(e.id, e.before);
      } else {
        const again = await store.create(recreation(e.annotation));
        if (again) undoStack.current = remapIds(undoStack.current, e.annotation.id, again.id);
      }
    });
    return undoChain.current;
  }, [store]);

  const anns = store.annotations;
  const selectedIndex = selectedId === null ? null : anns.findIndex((a) => a.id === selectedId);
  const shapes: CanvasShape[] = useMemo(
    () =>
      anns.map((a) => ({
        key: a.id,
        type: a.type,
        data: a.data,
        label: a.class_label,
        color: colorForLabel(a.class_label, classes),
        confidence: a.confidence,
      })),
    [anns, classes],
  );
  const overlayShapes: CanvasShape[] = useMemo(
    () =>
      overlay.map((p) => ({
        key: p.key,
        type: p.prediction.type,
        data: p.prediction.data,
        label: p.prediction.class_label,
        color: colorForLabel(p.prediction.class_label, classes),
        prediction: true,
        confidence: p.prediction.confidence,
      })),
    [overlay, classes],
  );

  const go = useCallback((id: number | null) => id !== null && navigate(`/projects/${projectId}/annotate/${id}`), [navigate, projectId]);

  const pickClass = useCallback(
    (label: string) => {
      setActiveClass(label);
      setNeedClass(false);
      const sel = anns.find((a) => a.id === selectedId);
      if (sel && sel.class_label !== label) updateShape(sel.id, { class_label: label });
    },
    [anns, selectedId, updateShape],
  );

  const deleteSelected = useCallback(() => {
    if (selectedId === null) return;
    removeShape(selectedId);
    setSelectedId(null);
  }, [selectedId, removeShape]);

  // Keyboard shortcuts, unless the user is typing in a field.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTypingTarget(e.target) || help) return;
      const drawing = canvas.current?.isDrawing() ?? false;
      const cmd = commandForKey(e, drawing);
      if (!cmd) return;
      e.preventDefault();
      switch (cmd.kind) {
        case 'tool':
          setTool(cmd.tool);
          break;
        case 'class':
          if (classes[cmd.index]) pickClass(classes[cmd.index]);
          break;
        case 'imageClass':
          if (classes[cmd.index]) {
            // Classifying is one key per image: set the class and move on.
            setImageClass.mutate(classes[cmd.index], { onSuccess: () => go(nav.next), onError: (e) => notify(errorMessage(e), 'error') });
          }
          break;
        case 'delete':
          deleteSelected();
          break;
        case 'cancel':
          if (!canvas.current?.cancelDrawing()) setSelectedId(null);
          break;
        case 'finish':
          canvas.current?.finishDrawing();
          break;
        case 'undoPoint':
          canvas.current?.undoPoint();
          break;
        case 'undo':
          if (canvas.current?.isDrawing()) canvas.current.undoPoint();
          else undo();
          break;
        case 'zoom':
          canvas.current?.zoomBy(cmd.factor);
          break;
        case 'fit':
          canvas.current?.fit();
          break;
        case 'image':
          go(cmd.step < 0 ? nav.prev : nav.next);
          break;
        case 'help':
          setHelp(true);
          break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [classes, pickClass, deleteSelected, go, nav.prev, nav.next, help, setImageClass, notify, undo]);

  const onCreate = async (type: 'box' | 'circle' | 'polygon', data: AnnotationData) => {
    if (!activeClass) {
      setNeedClass(true);
      notify('Add a class first (right panel), then draw.', 'warning');
      return;
    }
    const saved = await store.create({ type, data: roundData(data), class_label: activeClass });
    if (saved) {
      setSelectedId(saved.id);
      record({ kind: 'created', id: saved.id });
    }
  };

  const onChange = (index: number, data: AnnotationData) => {
    const a = anns[index];
    if (a) updateShape(a.id, { data: roundData(data) });
  };

  const acceptPrediction = async (p: PredictedAnnotation): Promise<boolean> => {
    // The server signs each prediction; accepting sends that back, and the server stores it
    // as `custom_model` (clients cannot claim that source). Without a token: a manual shape.
    const token = p.accept_token;
    const saved = await store.create(
      { type: p.type, data: p.data, class_label: p.class_label, confidence: p.confidence, source: token ? 'custom_model' : 'manual' },
      token ? () => ep.annotations.accept(imageId, token) : undefined,
    );
    if (saved) {
      addClass(p.class_label);
      record({ kind: 'created', id: saved.id });
    }
    return saved !== null;
  };

  const onOverlay = useCallback((p: PendingPrediction[]) => setOverlay(p), []);

  if (image.isError) return <Box sx={{ p: 3 }}><ErrorState error={image.error} title="Could not open this image" onRetry={() => image.refetch()} /></Box>;
  if (image.isPending) return <LoadingState label="Loading image…" minHeight={500} />;
  const img = image.data;

  return (
    <Box sx={{ display: 'flex', height: 'calc(100vh - 56px)', minHeight: 480 }}>
      {/* Tools */}
      <Stack sx={{ width: 56, borderRight: 1, borderColor: 'divider', bgcolor: 'background.paper', alignItems: 'center', py: 1, gap: 0.5 }}>
        <ToggleButtonGroup orientation="vertical" value={tool} exclusive onChange={(_, v) => v && setTool(v)} size="small" aria-label="Tools">
          {tools.map((t) => (
            <Tooltip key={t.tool} title={`${t.label} (${t.key})`} placement="right">
              <ToggleButton value={t.tool} aria-label={`${t.label} (${t.key})`} data-tool={t.tool}>
                {t.icon}
              </ToggleButton>
            </Tooltip>
          ))}
        </ToggleButtonGroup>
        <Divider flexItem sx={{ my: 1 }} />
        <Tooltip title="Zoom in (+)" placement="right">
          <IconButton size="small" onClick={() => canvas.current?.zoomBy(1.25)} aria-label="Zoom in">
            <ZoomInIcon />
          </IconButton>
        </Tooltip>
        <Tooltip title="Zoom out (−)" placement="right">
          <IconButton size="small" onClick={() => canvas.current?.zoomBy(0.8)} aria-label="Zoom out">
            <ZoomOutIcon />
          </IconButton>
        </Tooltip>
        <Tooltip title="Fit to window (0)" placement="right">
          <IconButton size="small" onClick={() => canvas.current?.fit()} aria-label="Fit to window">
            <FitIcon />
          </IconButton>
        </Tooltip>
        <Tooltip title="Undo (Ctrl+Z)" placement="right">
          <span>
            <IconButton size="small" onClick={() => undo()} disabled={!canUndo} aria-label="Undo">
              <UndoIcon />
            </IconButton>
          </span>
        </Tooltip>
        <Typography variant="caption" color="text.secondary" data-testid="zoom-level">
          {Math.round(scale * 100)}%
        </Typography>
        <Box sx={{ flex: 1 }} />
        <Tooltip title="Keyboard shortcuts (?)" placement="right">
          <IconButton size="small" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts">
            <KeyboardIcon />
          </IconButton>
        </Tooltip>
      </Stack>

      {/* Image */}
      <Box sx={{ flex: 1, minWidth: 0, display: 'flex', flexDirection: 'column' }}>
        <Stack direction="row" spacing={1} sx={{ px: 1.5, py: 0.75, alignItems: 'center', borderBottom: 1, borderColor: 'divider', bgcolor: 'background.paper' }}>
          <Tooltip title="Back to the project">
            <IconButton size="small" component={RouterLink} to={`/projects/${projectId}`} aria-label="Back to the project">
              <BackIcon fontSize="small" />
            </IconButton>
          </Tooltip>
          <Typography variant="body2" color="text.secondary" noWrap sx={{ maxWidth: 200 }}>
            {project.data?.name}
          </Typography>
          <Typography variant="body2" color="text.secondary">/</Typography>
          <Typography variant="body2" sx={{ fontWeight: 600, minWidth: 0 }} noWrap title={img.filename}>
            {img.filename}
          </Typography>
          <Typography variant="caption" color="text.secondary" sx={{ whiteSpace: 'nowrap' }}>
            {img.width}×{img.height}
          </Typography>
          <Box sx={{ flex: 1 }} />
          {nav.total > 0 && (
            <Typography variant="body2" color="text.secondary" sx={{ whiteSpace: 'nowrap' }} data-testid="image-position">
              {nav.position} / {nav.total}
            </Typography>
          )}
          <Tooltip title="Previous image (←)">
            <span>
              <IconButton size="small" disabled={nav.prev === null} onClick={() => go(nav.prev)} aria-label="Previous image">
                <PrevIcon />
              </IconButton>
            </span>
          </Tooltip>
          <Tooltip title="Next image (→)">
            <span>
              <IconButton size="small" disabled={nav.next === null} onClick={() => go(nav.next)} aria-label="Next image">
                <NextIcon />
              </IconButton>
            </span>
          </Tooltip>
        </Stack>
        <AnnotationCanvas
          ref={canvas}
          imageUrl={url}
          imageWidth={img.width}
          imageHeight={img.height}
          shapes={shapes}
          overlay={overlayShapes}
          selected={selectedIndex !== null && selectedIndex >= 0 ? selectedIndex : null}
          tool={tool}
          drawColor={activeClass ? colorForLabel(activeClass, classes) : '#ffca28'}
          onSelect={(i) => setSelectedId(i === null ? null : (anns[i]?.id ?? null))}
          onCreate={onCreate}
          onChange={onChange}
          onScaleChange={setScale}
        />
        <Box sx={{ px: 1.5, py: 0.5, borderTop: 1, borderColor: 'divider', bgcolor: 'background.paper' }}>
          <Typography variant="caption" color="text.secondary">
            {tool === 'polygon'
              ? 'Click to add points · click the first point, double-click or Enter to close · Backspace removes the last point · Esc cancels'
              : tool === 'select'
                ? 'Click a shape to select · drag to move · drag handles to resize · drag the background to pan · Del deletes'
                : `Drag to draw a ${tool} in “${activeClass ?? 'no class yet'}” · 1–9 picks a class · wheel zooms · Space+drag pans`}
          </Typography>
        </Box>
      </Box>

      {/* Side panel */}
      <Box sx={{ width: 300, flexShrink: 0, borderLeft: 1, borderColor: 'divider', bgcolor: 'background.paper', overflowY: 'auto', p: 2 }}>
        <Stack spacing={2} divider={<Divider flexItem />}>
          <Box>
            {needClass && (
              <Alert severity="warning" sx={{ mb: 1 }}>
                Add a class before drawing.
              </Alert>
            )}
            <ClassPicker classes={classes} counts={counts} active={activeClass} onPick={pickClass} onAdd={addClass} />
          </Box>

          <Box>
            <Typography variant="overline" color="text.secondary" title="What the whole image shows: the label classification models learn from">
              Image class
            </Typography>
            <Autocomplete
              freeSolo
              size="small"
              options={classes}
              value={imageClass}
              onChange={(_, v) => {
                const label = typeof v === 'string' ? v.trim() || null : null;
                setImageClass.mutate(label, { onError: (e) => notify(errorMessage(e), 'error') });
                if (label) addClass(label);
              }}
              renderInput={(p) => <TextField {...p} placeholder="For classification" />}
            />
          </Box>

          <Box>
            <Stack direction="row" sx={{ alignItems: 'baseline' }}>
              <Typography variant="overline" color="text.secondary" sx={{ flex: 1 }}>
                Shapes
              </Typography>
              <Typography variant="caption" color="text.secondary" data-testid="shape-count">
                {anns.length}
              </Typography>
            </Stack>
            {store.query.isPending ? (
              <Typography variant="body2" color="text.secondary">Loading…</Typography>
            ) : store.query.isError ? (
              <ErrorState error={store.query.error} onRetry={() => store.query.refetch()} />
            ) : anns.length === 0 ? (
              <Typography variant="body2" color="text.secondary">
                No shapes yet. Press B and drag over the image to draw a box.
              </Typography>
            ) : (
              <List dense disablePadding sx={{ maxHeight: 260, overflow: 'auto' }} data-testid="shape-list">
                {anns.map((a) => (
                  <ListItemButton key={a.id} selected={a.id === selectedId} onClick={() => { setSelectedId(a.id); setTool('select'); }} sx={{ borderRadius: 1.5, py: 0.2, pr: 0.5 }}>
                    <Box sx={{ width: 10, height: 10, borderRadius: 0.5, bgcolor: colorForLabel(a.class_label, classes), mr: 1, flexShrink: 0 }} />
                    <Typography variant="body2" noWrap sx={{ flex: 1 }}>
                      {a.class_label}
                    </Typography>
                    {a.source === 'custom_model' && (
                      <Tooltip title={`From a model${a.confidence != null ? `, ${(a.confidence * 100).toFixed(0)}% confident` : ''}`}>
                        <Chip size="small" icon={<SmartIcon />} label={a.confidence != null ? `${(a.confidence * 100).toFixed(0)}%` : 'model'} sx={{ height: 20, mr: 0.5, '& .MuiChip-label': { px: 0.6, fontSize: 11 } }} />
                      </Tooltip>
                    )}
                    <Typography variant="caption" color="text.secondary" sx={{ mr: 0.5 }}>
                      {typeLabel[a.type] ?? a.type}
                    </Typography>
                    <IconButton
                      size="small"
                      aria-label={`Delete ${a.class_label} ${a.type}`}
                      onClick={(e) => {
                        e.stopPropagation();
                        removeShape(a.id);
                        if (selectedId === a.id) setSelectedId(null);
                      }}
                    >
                      <DeleteIcon fontSize="small" />
                    </IconButton>
                  </ListItemButton>
                ))}
              </List>
            )}
          </Box>

          <PredictionsPanel
            imageId={imageId}
            classes={classes}
            onOverlay={onOverlay}
            onAccept={acceptPrediction}
            onSetImageClass={(label) => {
              setImageClass.mutate(label);
              addClass(label);
            }}
          />
        </Stack>
      </Box>

      <Dialog open={help} onClose={() => setHelp(false)} maxWidth="sm" fullWidth>
        <DialogTitle>Keyboard shortcuts</DialogTitle>
        <DialogContent>
          <Table size="small">
            <TableBody>
              {SHORTCUTS.map((s) => (
                <TableRow key={s.keys}>
                  <TableCell sx={{ whiteSpace: 'nowrap', fontWeight: 600, width: 140 }}>{s.keys}</TableCell>
                  <TableCell>{s.what}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </DialogContent>
      </Dialog>
    </Box>
  );
}
