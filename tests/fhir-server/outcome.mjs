// OperationOutcome helpers for the wrapper's own errors. The router's outcomes carry medplum ids
// (`not-found`, `precondition-failed`...) that `getStatus` maps to HTTP statuses; ours carry the
// status directly so every error path answers with a FHIR OperationOutcome and the right status.
// Messages name the parameter or header at fault, never a value: values may be identifiers.

/** An error that becomes an OperationOutcome response with `status`. */
export class HttpError extends Error {
  constructor(status, code, text) {
    super(text);
    this.status = status;
    this.outcome = operationOutcome(code, text);
  }
}

export function operationOutcome(code, text, severity = 'error') {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

export const badRequest = (text) => new HttpError(400, 'invalid', text);
export const notSupported = (text) => new HttpError(400, 'not-supported', text);
export const notFound = (text) => new HttpError(404, 'not-found', text);
