import { useEffect, useState } from 'preact/hooks';
import { listModels, type ModelInfo } from '../api.js';

/**
 * The installed models a view picks from (those `keep` takes), listed once
 * when the view opens, and the one picked: `initial` while it is among
 * them, else the first. A failure other than the view closing goes to
 * `onError`, and the list is then empty.
 */
export const useModelChoice = (keep: (model: ModelInfo) => boolean, onError: (error: unknown) => void, initial = '') => {
  const [models, setModels] = useState<ModelInfo[] | undefined>();
  const [model, setModel] = useState(initial);
  useEffect(() => {
    const controller = new AbortController();
    listModels(controller.signal)
      .then((all) => {
        const mine = all.filter(keep);
        setModels(mine);
        setModel((current) => (mine.some((m) => m.name === current) ? current : (mine[0]?.name ?? '')));
      })
      .catch((error: unknown) => {
        if ((error as Error).name === 'AbortError') return;
        setModels([]);
        onError(error);
      });
    return () => controller.abort();
  }, []);
  return { models, model, setModel };
};
