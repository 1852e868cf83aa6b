// Entry of the admin feature, found by shell/mount-points.tsx.
export { AdminDashboard } from './AdminDashboard.tsx';
