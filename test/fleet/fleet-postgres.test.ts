import { POSTGRES_MISSING, startPostgres } from "../services/postgres.js";
import { fleetScenario } from "./fleet-scenario.js";

const server = await startPostgres();
fleetScenario("PostgreSQL", async () => (server ? server.createDatabase("fleet") : ""), server ? false : POSTGRES_MISSING, async () => server?.stop());
