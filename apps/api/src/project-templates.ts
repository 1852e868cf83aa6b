// Starter files of `project.create`'s templates: enough to press Run and see output.
import type { StarterFile } from './project-files.js';

/** Template names of the contract. */
export type TemplateName = 'empty' | 'node' | 'python' | 'shell';

const TEMPLATES: Record<TemplateName, readonly StarterFile[]> = {
  empty: [],
  node: [{ path: 'main.js', content: "console.log('Hello from CyberDevStudio');\n" }],
  python: [{ path: 'main.py', content: "print('Hello from CyberDevStudio')\n" }],
  shell: [{ path: 'main.sh', content: "#!/bin/sh\necho 'Hello from CyberDevStudio'\n" }],
};

/** The files a new project of `template` starts with. */
export function starterFiles(template: TemplateName): readonly StarterFile[] {
  return TEMPLATES[template];
}
