import { join } from 'node:path';
import { AppError } from '../errors.js';
import type { Family } from '../types/models.js';
import { readOnnxInputs } from './onnx-metadata.js';

const invalid = (file: string, detail: string) =>
  new AppError('model_invalid', `The model's ${file} ${detail}.`, {
    hint: 'The download may be corrupt or the folder holds the wrong file; pull the model again from its source.',
    param: 'model',
  });

/** Graph inputs a Silero VAD has: v5 takes (input, state, sr), v4 (input, sr, h, c). */
const isSileroGraph = (inputs: readonly string[]) => inputs.includes('input') && inputs.includes('sr') && (inputs.includes('state') || (inputs.includes('h') && inputs.includes('c')));

/**
 * Checks the ONNX files of a model before it is installed: each must read as
 * an ONNX model (its tags walk cleanly to the end, seeking past the
 * weights), and, when `family` says it is a Silero VAD, have a Silero
 * graph's inputs. onnxruntime
 * aborts the process on a corrupt file (an uncaught Ort::Exception), so a
 * bad one is refused at pull rather than at first use.
 */
export const checkOnnxFiles = async (dir: string, files: readonly string[], family?: Family): Promise<void> => {
  for (const file of files.filter((f) => /\.onnx$/i.test(f))) {
    let inputs: string[];
    try {
      inputs = await readOnnxInputs(join(dir, file));
    } catch (error) {
      if (error instanceof AppError) throw invalid(file, `is not a readable ONNX model (${error.message.replace(/^'[^']*' is not a readable ONNX model: /, '').replace(/\.$/, '')})`);
      throw error;
    }
    if (family === 'silero-vad' && !isSileroGraph(inputs)) throw invalid(file, `is not a Silero VAD graph (its inputs are ${inputs.join(', ') || 'none'}; Silero's are input, state and sr)`);
  }
};
