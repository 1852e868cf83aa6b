import type {
  MethodOf,
  NotificationOf,
  ParamsInputOf,
  ParamsOf,
  ResultOf,
  StreamingMethodOf,
} from './contract-types.js';
import type { MethodDef } from './define-method.js';
import { agentMethods } from './methods/agent.js';
import { auditMethods } from './methods/audit.js';
import { authMethods } from './methods/auth.js';
import { billingMethods } from './methods/billing.js';
import { fsMethods } from './methods/fs.js';
import { keysMethods } from './methods/keys.js';
import { llmMethods } from './methods/llm.js';
import { modelsMethods } from './methods/models.js';
import { projectMethods } from './methods/project.js';
import { runMethods } from './methods/run.js';
import { systemMethods } from './methods/system.js';
import { telemetryMethods } from './methods/telemetry.js';
import { usageMethods } from './methods/usage.js';
import { usersMethods } from './methods/users.js';

/**
 * The method families, keyed by the prefix every method name of the family starts with. The JSON Schema
 * generator writes one file per family, and the gateway routes whole families to the service that owns them.
 */
export const METHOD_FAMILIES = {
  system: systemMethods,
  auth: authMethods,
  users: usersMethods,
  keys: keysMethods,
  billing: billingMethods,
  usage: usageMethods,
  audit: auditMethods,
  project: projectMethods,
  fs: fsMethods,
  run: runMethods,
  llm: llmMethods,
  models: modelsMethods,
  agent: agentMethods,
  telemetry: telemetryMethods,
} as const satisfies Record<string, Record<string, MethodDef>>;

/** Name of a method family (the part of a method name before the first dot). */
export type MethodFamily = keyof typeof METHOD_FAMILIES;

/** A service that answers methods. */
export type ServiceName = 'api' | 'auth' | 'llmserver';

/**
 * Which service owns each family. The api gateway answers its own families and forwards the others with the
 * caller's identity and trace context, so browsers and scripts talk to one origin. `system.*` every service answers.
 */
export const FAMILY_SERVICE = {
  system: 'api',
  auth: 'auth',
  users: 'auth',
  keys: 'auth',
  billing: 'auth',
  usage: 'auth',
  audit: 'auth',
  project: 'api',
  fs: 'api',
  run: 'api',
  llm: 'llmserver',
  models: 'llmserver',
  agent: 'api',
  telemetry: 'api',
} as const satisfies Record<MethodFamily, ServiceName>;

/** Every JSON-RPC method of the product, keyed by its wire name (`family.verb`). */
export const contract = {
  ...systemMethods,
  ...authMethods,
  ...usersMethods,
  ...keysMethods,
  ...billingMethods,
  ...usageMethods,
  ...auditMethods,
  ...projectMethods,
  ...fsMethods,
  ...runMethods,
  ...llmMethods,
  ...modelsMethods,
  ...agentMethods,
  ...telemetryMethods,
} as const satisfies Record<string, MethodDef>;

/** The contract's type; transports and clients are generic over it. */
export type Contract = typeof contract;
/** Name of any method in the contract. */
export type MethodName = MethodOf<Contract>;
/** Params a caller sends (before defaults and transforms). */
export type ParamsInput<M extends MethodName> = ParamsInputOf<Contract, M>;
/** Params a handler receives (after parsing). */
export type Params<M extends MethodName> = ParamsOf<Contract, M>;
/** Result a handler returns and a caller receives. */
export type Result<M extends MethodName> = ResultOf<Contract, M>;
/** Methods that stream notifications before their result. */
export type StreamingMethodName = StreamingMethodOf<Contract>;
/** Params of the notifications a streaming method sends (without the `requestId` the transport adds). */
export type Notification<M extends StreamingMethodName> = NotificationOf<Contract, M>;

/** Reserved notification a client sends to cancel one of its in-flight requests (`rpc.` names are reserved by JSON-RPC). */
export const CANCEL_NOTIFICATION = 'rpc.cancel';

/** True when `name` is a method of the contract. */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(contract, name);
}
