// The model picker: every downloaded model (ready) or loaded one, loaded first, with its price. The choice is
// remembered per browser.
import type { Model } from '@cyber/contract';
import { formatCredits } from './format.ts';

/** localStorage key of the last model picked. */
export const MODEL_STORAGE_KEY = 'cyber.chat.model';

/** Props of {@link ModelPicker}. */
interface Props {
  models: readonly Model[];
  value: string | undefined;
  onChange: (name: string) => void;
  disabled: boolean;
}

/** The models a user can chat with, loaded ones first. */
export function pickableModels(models: readonly Model[]): Model[] {
  const rank = (model: Model) => (model.status === 'loaded' ? 0 : 1);
  return models
    .filter((model) => model.status === 'loaded' || model.status === 'ready')
    .sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** The model to start with: the remembered one if still pickable, else the first loaded one. */
export function initialModel(models: readonly Model[], remembered: string | null): string | undefined {
  const pickable = pickableModels(models);
  return (pickable.find((model) => model.name === remembered) ?? pickable[0])?.name;
}

/** A select of models. */
export function ModelPicker({ models, value, onChange, disabled }: Props) {
  const pickable = pickableModels(models);
  return (
    <select
      aria-label="Model"
      data-testid="chat-model"
      value={value ?? ''}
      disabled={disabled || pickable.length === 0}
      onChange={(event) => {
        onChange(event.target.value);
        try {
          window.localStorage.setItem(MODEL_STORAGE_KEY, event.target.value);
        } catch {
          // Storage disabled: the choice lasts for this page only.
        }
      }}
      className="min-w-0 max-w-[14rem] flex-1 truncate rounded border border-border bg-surface-alt px-1.5 py-1 text-fg"
    >
      {pickable.length === 0 && <option value="">No model available</option>}
      {pickable.map((model) => (
        <option key={model.id} value={model.name}>
          {model.name}
          {model.status === 'loaded' ? '' : ' (not loaded)'} · {formatCredits(model.costPerToken)}/token
        </option>
      ))}
    </select>
  );
}
