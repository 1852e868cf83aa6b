// Entry of the chat feature, found by shell/mount-points.tsx.
export { ChatPanel } from './ChatPanel.tsx';
