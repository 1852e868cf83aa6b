// Monaco from the bundle, never from a CDN: @monaco-editor/react's loader is pointed at the imported module,
// and the language workers are Vite worker chunks served by the gateway like every other asset.
import { loader } from '@monaco-editor/react';
import * as monaco from './monaco-editor.ts';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import CssWorker from 'monaco-editor/language/css/css.worker?worker';
import HtmlWorker from 'monaco-editor/language/html/html.worker?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker?worker';
import TsWorker from 'monaco-editor/language/typescript/ts.worker?worker';
import { defineMonacoThemes } from '../theme/monaco-themes.ts';

self.MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    switch (label) {
      case 'json':
        return new JsonWorker();
      case 'css':
      case 'scss':
      case 'less':
        return new CssWorker();
      case 'html':
      case 'handlebars':
      case 'razor':
        return new HtmlWorker();
      case 'typescript':
      case 'javascript':
        return new TsWorker();
      default:
        return new EditorWorker();
    }
  },
};

loader.config({ monaco });
defineMonacoThemes(monaco);

export { monaco };
