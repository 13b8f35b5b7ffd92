import type { ReactElement } from 'react';
import { Chip } from '@mui/material';
import CategoryIcon from '@mui/icons-material/CategoryOutlined';
import CropFreeIcon from '@mui/icons-material/CropFree';
import PolylineIcon from '@mui/icons-material/PolylineOutlined';
import type { TaskType } from '@/api/types';

export const taskLabels: Record<TaskType, string> = { classify: 'Classification', detect: 'Detection', segment: 'Segmentation' };
const icons: Record<TaskType, ReactElement> = {
  classify: <CategoryIcon />,
  detect: <CropFreeIcon />,
  segment: <PolylineIcon />,
};

export function TaskChip({ task }: { task: TaskType }) {
  return <Chip size="small" variant="outlined" icon={icons[task]} label={taskLabels[task] ?? task} />;
}
