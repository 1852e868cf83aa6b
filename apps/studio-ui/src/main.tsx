import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createRpc, RpcProvider } from './rpc/RpcProvider.tsx';
import { ThemeProvider } from './theme/ThemeProvider.tsx';
import './styles.css';

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');

// On a project page the editor is what the user waits for: fetch and compile Monaco (the largest chunk) while the
// session refresh, project.open and fs.read are answered, instead of after them. The module is cached, so the
// IDE's lazy import later resolves at once.
if (window.location.pathname.startsWith('/p/')) void import('./ide/CodeEditor.tsx');

// The session's restore (auth.refresh) starts before React's first render and effects, so its round trip
// overlaps them and, on a project page, Monaco's compile.
const rpc = createRpc();
void rpc.session.restore();

createRoot(root).render(
  <StrictMode>
    <ThemeProvider>
      <RpcProvider rpc={rpc}>
        <App />
      </RpcProvider>
    </ThemeProvider>
  </StrictMode>,
);
