import { AppError } from '../errors.js';

/** An upstream's refusal of a client's request, said as the upstream's: a 404 is its model list, not this daemon's catalog. */
export const fromUpstream = (name: string, error: AppError): AppError =>
  new AppError(error.code, `Upstream '${name}': ${error.message}`, {
    ...(error.code === 'model_not_found' ? { hint: `Upstream '${name}' does not serve it; its /v1/models says what it does.` } : error.hint ? { hint: error.hint } : {}),
    ...(error.param ? { param: error.param } : {}),
  });
