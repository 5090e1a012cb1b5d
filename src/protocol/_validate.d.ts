// Types of the generated validators in _validate.js (scripts/gen_protocol.ts).

/** An Ajv validator: true when `value` is valid; otherwise `errors` says why. */
export interface GeneratedValidator {
  (value: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/**
 * Validates a message a server sends (schema/protocol.schema.json#/$defs/serverMessage); its code is
 * built at its first call.
 */
export const validateServerMessage: GeneratedValidator;
/**
 * Validates a message a client sends (schema/protocol.schema.json#/$defs/clientMessage); its code is
 * built at its first call.
 */
export const validateClientMessage: GeneratedValidator;
