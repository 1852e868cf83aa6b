// The classes of the studio's buttons, apart from Dialog.tsx so that the form pieces can use them too.

/** Classes of the dialogs' and forms' buttons. */
export const buttonClass = {
  primary: 'rounded bg-accent px-3 py-1.5 font-semibold text-on-accent disabled:opacity-60',
  danger: 'rounded border border-danger px-3 py-1.5 font-semibold text-danger disabled:opacity-60',
  plain: 'rounded border border-border px-3 py-1.5 hover:bg-surface-alt disabled:opacity-60',
};
