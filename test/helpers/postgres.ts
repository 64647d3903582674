/** The private PostgreSQL lives beside the other server launchers, where the benchmarks can use it too. */
export { PG_BIN, skipPostgres, startPostgres, type TestPostgres } from '../../scripts/e2e/postgres.js';
