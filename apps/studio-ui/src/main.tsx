import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { RpcProvider } from './rpc/RpcProvider.tsx';
import { ThemeProvider } from './theme/ThemeProvider.tsx';
import './styles.css';

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');

createRoot(root).render(
  <StrictMode>
    <ThemeProvider>
      <RpcProvider>
        <App />
      </RpcProvider>
    </ThemeProvider>
  </StrictMode>,
);
