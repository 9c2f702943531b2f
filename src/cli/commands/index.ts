import type { Command } from "../command.js";
import { addCommand } from "./add.js";
import { benchCommand } from "./bench.js";
import { demoCommand } from "./demo.js";
import { compactCommand } from "./compact.js";
import { dictCommand } from "./dict.js";
import { entitiesCommand } from "./entities.js";
import { exportCommand } from "./export.js";
import { getCommand } from "./get.js";
import { historyCommand } from "./history.js";
import { importCommand } from "./import.js";
import { jobsCommand } from "./jobs.js";
import { keysCommand } from "./keys.js";
import { lsCommand } from "./ls.js";
import { mcpCommand } from "./mcp.js";
import { modelCommand } from "./model.js";
import { modelsCommand } from "./models.js";
import { profileCommand } from "./profile.js";
import { qualityCommand } from "./quality.js";
import { recodeCommand } from "./recode.js";
import { rmCommand } from "./rm.js";
import { serveCommand } from "./serve.js";
import { relatedCommand, searchCommand } from "./search.js";
import { statsCommand } from "./stats.js";
import { updateCommand } from "./update.js";
import { verifyCommand } from "./verify.js";
import { workerCommand } from "./worker.js";

export const COMMANDS: readonly Command[] = [
  importCommand,
  jobsCommand,
  addCommand,
  updateCommand,
  getCommand,
  historyCommand,
  lsCommand,
  rmCommand,
  exportCommand,
  verifyCommand,
  statsCommand,
  compactCommand,
  dictCommand,
  modelCommand,
  modelsCommand,
  recodeCommand,
  profileCommand,
  searchCommand,
  relatedCommand,
  qualityCommand,
  entitiesCommand,
  serveCommand,
  mcpCommand,
  workerCommand,
  keysCommand,
  benchCommand,
  demoCommand,
];
