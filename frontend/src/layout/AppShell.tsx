// The frame around every signed-in page: the side navigation, the top bar with the user and
// sign-out, and the page itself. The annotation view asks for a collapsed navigation so the
// canvas gets the width of a laptop screen.

import { useState, type ReactNode } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import {
  AppBar,
  Avatar,
  Box,
  Chip,
  Divider,
  Drawer,
  IconButton,
  List,
  ListItemButton,
  ListItemIcon,
  ListItemText,
  ListSubheader,
  Menu,
  MenuItem,
  Toolbar,
  Tooltip,
  Typography,
  useMediaQuery,
} from '@mui/material';
import FolderIcon from '@mui/icons-material/FolderOutlined';
import SchoolIcon from '@mui/icons-material/AutoAwesomeOutlined';
import TimelineIcon from '@mui/icons-material/TimelineOutlined';
import ModelIcon from '@mui/icons-material/ViewInArOutlined';
import ExtensionIcon from '@mui/icons-material/ExtensionOutlined';
import MenuIcon from '@mui/icons-material/Menu';
import LogoutIcon from '@mui/icons-material/Logout';
import { useAuth } from '@/features/auth/AuthProvider';
import { brand } from '@/theme';
import { Logo } from './Logo';

const FULL = 224;
const MINI = 64;

interface NavItem {
  to: string;
  label: string;
  icon: ReactNode;
  admin?: boolean;
  /** Highlight for these path prefixes too. */
  also?: string[];
}

const sections: { title: string; items: NavItem[] }[] = [
  { title: 'Data', items: [{ to: '/projects', label: 'Projects', icon: <FolderIcon /> }] },
  {
    title: 'Training',
    items: [
      { to: '/training/new', label: 'Train a model', icon: <SchoolIcon /> },
      { to: '/jobs', label: 'Training jobs', icon: <TimelineIcon /> },
    ],
  },
  { title: 'Models', items: [{ to: '/models', label: 'Models', icon: <ModelIcon /> }] },
  { title: 'Admin', items: [{ to: '/plugins', label: 'Plugins', icon: <ExtensionIcon />, admin: true }] },
];

function NavContent({ mini, onNavigate }: { mini: boolean; onNavigate?: () => void }) {
  const { isAdmin } = useAuth();
  const { pathname } = useLocation();
  return (
    <Box sx={{ height: '100%', bgcolor: brand.sidebar, color: brand.sidebarText, display: 'flex', flexDirection: 'column' }}>
      <Toolbar sx={{ px: mini ? 1.5 : 2.5, gap: 1 }}>
        <NavLink to="/projects" onClick={onNavigate} style={{ textDecoration: 'none' }} aria-label="AnnotateForge home">
          <Logo size={30} withName={!mini} light />
        </NavLink>
      </Toolbar>
      <Box component="nav" aria-label="Main" sx={{ flex: 1, overflowY: 'auto', px: 1 }}>
        {sections.map((section) => {
          const items = section.items.filter((i) => !i.admin || isAdmin);
          if (!items.length) return null;
          return (
            <List
              key={section.title}
              dense
              subheader={
                mini ? undefined : (
                  <ListSubheader disableSticky sx={{ bgcolor: 'transparent', color: 'rgba(197,202,224,0.55)', lineHeight: '32px', fontSize: '0.72rem', textTransform: 'uppercase', letterSpacing: 0.8 }}>
                    {section.title}
                  </ListSubheader>
                )
              }
            >
              {items.map((item) => {
                const active = pathname === item.to || pathname.startsWith(item.to + '/');
                const button = (
                  <ListItemButton
                    key={item.to}
                    component={NavLink}
                    to={item.to}
                    onClick={onNavigate}
                    selected={active}
                    sx={{
                      mb: 0.5,
                      px: mini ? 1.5 : 1.5,
                      justifyContent: mini ? 'center' : 'flex-start',
                      color: 'inherit',
                      '&.Mui-selected': { bgcolor: 'rgba(121,134,203,0.22)', color: '#fff' },
                      '&.Mui-selected:hover, &:hover': { bgcolor: 'rgba(121,134,203,0.3)' },
                    }}
                  >
                    <ListItemIcon sx={{ color: 'inherit', minWidth: mini ? 0 : 36 }}>{item.icon}</ListItemIcon>
                    {!mini && <ListItemText primary={item.label} slotProps={{ primary: { sx: { fontWeight: 550, fontSize: '0.9rem' } } }} />}
                  </ListItemButton>
                );
                return mini ? (
                  <Tooltip key={item.to} title={item.label} placement="right">
                    {button}
                  </Tooltip>
                ) : (
                  button
                );
              })}
            </List>
          );
        })}
      </Box>
      {!mini && (
        <Typography variant="caption" sx={{ px: 2.5, py: 1.5, color: 'rgba(197,202,224,0.45)' }}>
          YOLOv8 · libtorch · WebAssembly plugins
        </Typography>
      )}
    </Box>
  );
}

function UserMenu() {
  const { user, isAdmin, signOut } = useAuth();
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  if (!user) return null;
  const initial = user.email.slice(0, 1).toUpperCase();
  return (
    <>
      <Tooltip title="Account">
        <IconButton onClick={(e) => setAnchor(e.currentTarget)} aria-label={`Account of ${user.email}`} sx={{ gap: 1, borderRadius: 2, px: 1 }}>
          <Avatar sx={{ width: 30, height: 30, bgcolor: 'primary.main', fontSize: '0.9rem' }}>{initial}</Avatar>
          <Typography sx={{ display: { xs: 'none', md: 'block' }, fontSize: '0.9rem', fontWeight: 550, color: 'text.primary' }} data-testid="current-user">
            {user.email}
          </Typography>
        </IconButton>
      </Tooltip>
      <Menu anchorEl={anchor} open={!!anchor} onClose={() => setAnchor(null)} anchorOrigin={{ vertical: 'bottom', horizontal: 'right' }} transformOrigin={{ vertical: 'top', horizontal: 'right' }}>
        <Box sx={{ px: 2, py: 1 }}>
          <Typography sx={{ fontWeight: 600 }}>{user.email}</Typography>
          <Chip size="small" label={isAdmin ? 'Administrator' : 'User'} sx={{ mt: 0.5 }} color={isAdmin ? 'primary' : 'default'} />
        </Box>
        <Divider />
        <MenuItem
          onClick={() => {
            setAnchor(null);
            signOut();
          }}
        >
          <ListItemIcon>
            <LogoutIcon fontSize="small" />
          </ListItemIcon>
          Sign out
        </MenuItem>
      </Menu>
    </>
  );
}

export function AppShell() {
  const { pathname } = useLocation();
  const small = useMediaQuery('(max-width:900px)');
  const [mobileOpen, setMobileOpen] = useState(false);
  // The annotation view wants every pixel for the canvas.
  const compact = /\/annotate\//.test(pathname);
  const mini = compact && !small;
  const width = small ? 0 : mini ? MINI : FULL;
  const { signOut } = useAuth();

  return (
    <Box sx={{ display: 'flex', minHeight: '100vh' }}>
      {small ? (
        <Drawer open={mobileOpen} onClose={() => setMobileOpen(false)} slotProps={{ paper: { sx: { width: FULL, border: 0 } } }}>
          <NavContent mini={false} onNavigate={() => setMobileOpen(false)} />
        </Drawer>
      ) : (
        <Drawer variant="permanent" slotProps={{ paper: { sx: { width, border: 0, overflowX: 'hidden' } } }} sx={{ width, flexShrink: 0 }}>
          <NavContent mini={mini} />
        </Drawer>
      )}
      <Box sx={{ flex: 1, minWidth: 0, display: 'flex', flexDirection: 'column' }}>
        <AppBar position="sticky">
          <Toolbar variant="dense" sx={{ minHeight: 56, gap: 1 }}>
            {small && (
              <IconButton edge="start" onClick={() => setMobileOpen(true)} aria-label="Open navigation">
                <MenuIcon />
              </IconButton>
            )}
            <Box sx={{ flex: 1 }} />
            <UserMenu />
            <Tooltip title="Sign out">
              <IconButton onClick={signOut} aria-label="Sign out">
                <LogoutIcon fontSize="small" />
              </IconButton>
            </Tooltip>
          </Toolbar>
        </AppBar>
        <Box component="main" sx={{ flex: 1, minWidth: 0, p: compact ? 0 : { xs: 2, md: 3 }, maxWidth: compact ? 'none' : 1440, width: '100%', mx: 'auto' }}>
          <Outlet />
        </Box>
      </Box>
    </Box>
  );
}
