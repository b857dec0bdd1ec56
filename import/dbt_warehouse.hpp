#pragma once
// `import dbt`: the datawatch source a dbt adapter's warehouse needs
// (manifest.json `metadata.adapter_type`), and how its relations are named.
//
// - postgres -> type postgres; redshift -> type postgres + dialect redshift;
//   sqlite -> type sqlite;
// - snowflake, bigquery, databricks, sqlserver/fabric/synapse, trino,
//   clickhouse, mysql/mysql5/mariadb -> type odbc + dialect, with a connection
//   string that names the vendor's driver and takes every account detail and
//   secret from ${ENV} variables (the loader expands them; an unset one is an
//   error, so a half-filled import never runs against the wrong account);
// - any other adapter is not `known`: the caller writes a source `validate`
//   refuses (its `dialect:` is the adapter's name) and says so, never a silent
//   postgres source.

#include <string>
#include <vector>

namespace datawatch::dbt {

struct DbtWarehouse {
  std::string adapter;     // as the manifest names it, lower-case
  std::string vendor;      // for messages: "Snowflake"
  std::string type;        // the source's `type:`: postgres, sqlite or odbc
  std::string dialect;     // the source's `dialect:`; "" = the type's own
  std::string connection;  // odbc: the connection string, ${ENV} placeholders
  std::string driver;      // odbc: the driver to install, as odbcinst.ini names it
  // Relations keep their database (Snowflake database, BigQuery project,
  // Databricks/Trino catalog, SQL Server database): database.schema.table.
  // Otherwise schema.table (where a database is the schema: MySQL, ClickHouse).
  bool keep_database = false;
  // PostgreSQL/Redshift: one connection reads one database; relations in the
  // database most models use are schema.table, others database.schema.table.
  bool home_database = false;
  // How the warehouse stores a name dbt did not quote, which is also how
  // datawatch reads an unquoted name in config (probes/dialect.hpp): Snowflake
  // upper-cases, PostgreSQL/Redshift/Trino lower-case.
  enum class Fold { None, Lower, Upper } fold = Fold::None;
  bool known = true;  // false: datawatch has no dialect for this adapter
  std::string hint;   // !known: the closest dialect to try, if there is one
};

// The warehouse of `adapter` ("" when the manifest names none: postgres, as
// dbt's first adapters were).
DbtWarehouse dbtWarehouse(std::string adapter);

// The ${NAME} variables of a connection string, in order, each once.
std::vector<std::string> envVariables(const std::string& connection);

}  // namespace datawatch::dbt
