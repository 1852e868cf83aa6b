// The api gateway as a Fastify instance: JSON-RPC on POST /rpc and WebSocket /rpc for projects, files and runs,
// forwarding of the families other services own, and the health probes. No env reads and no listen here
// (main.ts does both); every resource handed in is closed by the app's onClose.
import type { FilesConfig } from '@cyber/config';
import type { Database } from '@cyber/db';
import { rpcServer, type Authenticate, type RpcLimits } from '@cyber/rpc-server';
import { createRpcServerMetrics, metricsPlugin, type Registry } from '@cyber/telemetry';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { agentHandlers, type AgentDeps } from './agent/agent-handlers.js';
import { LlmServerModel } from './agent/agent-model.js';
import { AgentRepository } from './agent/agent.repository.js';
import { LiveTurns } from './agent/live-turn.js';
import { BackgroundWork } from './background-work.js';
import { forwardingHandlers, type ServiceUrls } from './forwarder.js';
import { ProjectAccessGuard, projectHandlers } from './project-handlers.js';
import { ProjectFiles } from './project-files.js';
import { ProjectRepository } from './project.repository.js';
import { RunRepository } from './run.repository.js';
import { ActiveRuns, prewarmOnOpen, runHandlers, type SandboxDeps } from './run-handlers.js';
import { registerStudioUi } from './static-ui.js';
import { telemetryHandlers, type TelemetryDeps } from './telemetry/telemetry-handlers.js';
import { webSocketUrl } from './ws-forwarder.js';

export { ProjectFiles, versionOf } from './project-files.js';
export { forwardedHeaders, type ServiceUrls } from './forwarder.js';
export type { SandboxDeps, SandboxLike } from './run-handlers.js';
export { observedSandbox } from './observed-sandbox.js';
export { startSandboxRunner } from './sandbox-runner.js';
export type { AgentDeps } from './agent/agent-handlers.js';
export type { TelemetryDeps } from './telemetry/telemetry-handlers.js';
export {
  DEFAULT_PANELS_FILE,
  loadTelemetryPanels,
  type PanelDefinition,
} from './telemetry/telemetry-panels.js';
export type { AgentModel, AgentModelFactory, AgentModelResult } from './agent/agent-model.js';

/** Everything the gateway needs; main.ts builds it from the config, tests from their fixtures. */
export interface AppDeps {
  /** The database; the app closes it on shutdown. */
  database: Database;
  /**
   * Resolves the caller from `Authorization: Bearer <jwt>` or `X-Cyber-Token` (production: the verifier of
   * @cyber/auth-client). Runs for every method; public methods still work when it finds nobody.
   */
  authenticate: Authenticate;
  /** Folder holding one folder per project. */
  projectsDir: string;
  /** Size limits of project files. */
  files: FilesConfig;
  /** Base URLs of the services the gateway forwards to. */
  services: ServiceUrls;
  /** The sandbox for run.exec; without it run.exec and run.cancel answer method_not_found. */
  sandbox?: SandboxDeps;
  /**
   * The coding agent (agent.*). By default its model calls go to llmserver (`services.llmserver`) as the caller,
   * and a new session must name its model.
   */
  agent?: Partial<AgentDeps>;
  /** The built studio-ui to serve on `/` (assets, SPA fallback); the gateway serves only the API without it. */
  studioUiDir?: string;
  /**
   * The admin dashboard's telemetry (telemetry.snapshot): the panels, and Prometheus when there is one (else the
   * api scrapes itself and `services`). Without it telemetry.snapshot answers method_not_found.
   */
  telemetry?: TelemetryDeps;
  /**
   * Prometheus metrics, served at GET /metrics (`beforeScrape` refreshes gauges read elsewhere); JSON-RPC calls
   * are recorded per method into the same registry.
   */
  metrics?: { registry: Registry; beforeScrape?: () => void };
  /** JSON-RPC transport limits. */
  rpcLimits?: RpcLimits;
  /** Fastify logger options (main.ts passes the level); off when absent. */
  logger?: FastifyServerOptions['logger'];
  /**
   * Where handlers put work they do not answer after (a project's size after a run); by default one that logs
   * failures to the app's logger. The app waits for it on close. Tests and benchmarks pass their own to wait.
   */
  background?: BackgroundWork;
  /** fetch used to forward calls; the global one by default. */
  fetch?: typeof fetch;
  /** Called on shutdown after the server stopped accepting requests (e.g. closing the verifier). */
  onClose?: () => Promise<void>;
}

/** Builds the gateway. Call `listen` on the result (main.ts) or `inject` (tests). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false });
  if (deps.metrics) await app.register(metricsPlugin, deps.metrics);
  const projects = new ProjectRepository(deps.database.db);
  const runs = new RunRepository(deps.database.db);
  const files = new ProjectFiles({
    projectsDir: deps.projectsDir,
    maxFileBytes: deps.files.maxFileBytes,
    maxProjectBytes: deps.files.maxProjectBytes,
  });

  const guard = new ProjectAccessGuard(projects);
  const active = new ActiveRuns();
  const liveTurns = new LiveTurns();
  const background =
    deps.background ?? new BackgroundWork((error) => app.log.error({ err: error }, 'background work failed'));

  app.addHook('onClose', async () => {
    active.cancelAll();
    await liveTurns.cancelAll();
    await background.settled();
    files.close();
    await deps.onClose?.();
    await deps.database.close();
  });

  app.get('/healthz', () => Promise.resolve({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await projects.ping();
      return { status: 'ready' };
    } catch (error) {
      request.log.warn({ err: error }, 'readyz: database unreachable');
      return reply.code(503).send({ status: 'unavailable', reason: 'database' });
    }
  });

  const projectRpc = projectHandlers({
    projects,
    runs,
    files,
    guard,
    onDelete: (projectId) => active.cancelProject(projectId),
  });
  const runRpc =
    deps.sandbox === undefined
      ? {}
      : runHandlers({ sandbox: deps.sandbox, guard, projects, runs, files, active, background });
  const llmUrl = webSocketUrl(deps.services.llmserver);
  const agentRpc = agentHandlers({
    agent: {
      createModel: ({ model, caller }) => new LlmServerModel({ url: llmUrl, model, caller }),
      ...deps.agent,
    },
    repository: new AgentRepository(deps.database.db),
    files,
    guard,
    live: liveTurns,
    runExec: runRpc['run.exec'],
    logError: (error, message) => app.log.error({ err: error }, message),
  });
  await app.register(rpcServer, {
    authenticate: deps.authenticate,
    ...(deps.rpcLimits === undefined ? {} : { limits: deps.rpcLimits }),
    // rpc_server_call_duration_seconds{method,outcome}: forwarded calls count here and in the owning service.
    ...(deps.metrics ? { onCallEnd: createRpcServerMetrics(deps.metrics.registry).onCallEnd } : {}),
    handlers: {
      ...forwardingHandlers({ services: deps.services, ...(deps.fetch ? { fetch: deps.fetch } : {}) }),
      // With a sandbox, opening a project prewarms a container for the caller's next run.
      ...(deps.sandbox === undefined
        ? projectRpc
        : prewarmOnOpen(projectRpc, { sandbox: deps.sandbox, files })),
      ...runRpc,
      ...agentRpc,
      ...(deps.telemetry === undefined
        ? {}
        : telemetryHandlers({
            telemetry: deps.telemetry,
            services: deps.services,
            metrics: deps.metrics,
            fetch: deps.fetch,
          })),
    },
  });
  if (deps.studioUiDir !== undefined) await registerStudioUi(app, deps.studioUiDir);
  return app;
}
