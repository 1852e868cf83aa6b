/** The slice of a pino/Fastify logger the model registry writes to. */
export interface ModelsLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}
