/** An account the stack created. */
export interface StackAccount {
  username: string;
  password: string;
}

/** What the launcher hands the tests. */
export interface StackInfo {
  /** The gateway, serving the built UI and /rpc. */
  url: string;
  /** True when runs go to the real sandbox (Docker engine and images present). */
  sandbox: boolean;
  /** Registry name of the loaded tiny model. */
  model: string;
  accounts: { admin: StackAccount; developer: StackAccount; viewer: StackAccount };
}
