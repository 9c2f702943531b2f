import { join } from "node:path";
import { fleetScenario } from "./fleet-scenario.js";

fleetScenario("SQLite", async (dir) => join(dir, "fleet.db"));
