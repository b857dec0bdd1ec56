#include "import/dbt_warehouse.hpp"

#include <algorithm>
#include <cctype>

namespace datawatch::dbt {
namespace {

DbtWarehouse odbc(std::string adapter, std::string vendor, std::string dialect, std::string driver,
                  std::string connection, bool keep_database) {
  DbtWarehouse w;
  w.adapter = std::move(adapter);
  w.vendor = std::move(vendor);
  w.type = "odbc";
  w.dialect = std::move(dialect);
  w.driver = std::move(driver);
  w.connection = std::move(connection);
  w.keep_database = keep_database;
  return w;
}

}  // namespace

DbtWarehouse dbtWarehouse(std::string adapter) {
  std::transform(adapter.begin(), adapter.end(), adapter.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (adapter.empty() || adapter == "postgres" || adapter == "redshift") {
    DbtWarehouse w;
    w.adapter = adapter;
    w.vendor = adapter == "redshift" ? "Redshift" : "PostgreSQL";
    w.type = "postgres";
    w.dialect = adapter == "redshift" ? "redshift" : "";
    w.home_database = true;
    w.fold = DbtWarehouse::Fold::Lower;
    return w;
  }
  if (adapter == "sqlite") {
    DbtWarehouse w;
    w.adapter = adapter;
    w.vendor = "SQLite";
    w.type = "sqlite";
    return w;
  }
  if (adapter == "snowflake") {
    auto w = odbc(adapter, "Snowflake", "snowflake", "SnowflakeDSIIDriver",
                  "Driver=SnowflakeDSIIDriver;Server=${SNOWFLAKE_ACCOUNT}.snowflakecomputing.com;"
                  "UID=${SNOWFLAKE_USER};PWD={${SNOWFLAKE_PASSWORD}};"
                  "Warehouse=${SNOWFLAKE_WAREHOUSE}",
                  true);
    w.fold = DbtWarehouse::Fold::Upper;
    return w;
  }
  if (adapter == "bigquery") {
    return odbc(adapter, "BigQuery", "bigquery", "Simba ODBC Driver for Google BigQuery",
                "Driver=Simba ODBC Driver for Google BigQuery;Catalog=${BIGQUERY_PROJECT};"
                "OAuthMechanism=0;Email=${BIGQUERY_SERVICE_ACCOUNT};"
                "KeyFilePath=${BIGQUERY_KEY_FILE}",
                true);
  }
  if (adapter == "databricks") {
    return odbc(adapter, "Databricks", "databricks", "Simba Spark ODBC Driver",
                "Driver=Simba Spark ODBC Driver;Host=${DATABRICKS_HOST};Port=443;"
                "HTTPPath=${DATABRICKS_HTTP_PATH};SSL=1;ThriftTransport=2;AuthMech=3;"
                "UID=token;PWD={${DATABRICKS_TOKEN}};UseNativeQuery=1",
                true);
  }
  if (adapter == "sqlserver" || adapter == "fabric" || adapter == "synapse") {
    // Fabric takes Microsoft Entra ID logins only: a service principal's
    // client id and secret.
    const bool fabric = adapter == "fabric";
    return odbc(adapter,
                fabric                 ? "Microsoft Fabric"
                : adapter == "synapse" ? "Azure Synapse"
                                       : "SQL Server",
                "sqlserver", "ODBC Driver 18 for SQL Server",
                std::string("Driver={ODBC Driver 18 for SQL Server};Server=${SQLSERVER_HOST};"
                            "Database=${SQLSERVER_DATABASE};UID=${SQLSERVER_USER};"
                            "PWD={${SQLSERVER_PASSWORD}};Encrypt=yes") +
                    (fabric ? ";Authentication=ActiveDirectoryServicePrincipal" : ""),
                true);
  }
  if (adapter == "trino") {
    auto w =
        odbc(adapter, "Trino", "trino", "Starburst ODBC Driver",
             "Driver=Starburst ODBC Driver;Host=${TRINO_HOST};Port=443;SSL=1;"
             "AuthenticationType=LDAP Authentication;UID=${TRINO_USER};PWD={${TRINO_PASSWORD}}",
             true);
    w.fold = DbtWarehouse::Fold::Lower;
    return w;
  }
  if (adapter == "clickhouse") {
    return odbc(adapter, "ClickHouse", "clickhouse", "ClickHouse ODBC Driver (Unicode)",
                "Driver={ClickHouse ODBC Driver (Unicode)};Url=https://${CLICKHOUSE_HOST}:8443;"
                "UID=${CLICKHOUSE_USER};PWD={${CLICKHOUSE_PASSWORD}}",
                false);
  }
  if (adapter == "mysql" || adapter == "mysql5" || adapter == "mariadb") {
    return odbc(adapter, adapter == "mariadb" ? "MariaDB" : "MySQL", "mysql", "MariaDB Unicode",
                "Driver=MariaDB Unicode;Server=${MYSQL_HOST};Port=3306;UID=${MYSQL_USER};"
                "PWD={${MYSQL_PASSWORD}}",
                false);
  }
  DbtWarehouse w;
  w.adapter = adapter;
  w.vendor = adapter;
  w.type = "odbc";
  w.dialect = adapter;  // `validate` refuses it, naming the dialects there are
  w.connection = "TODO: an ODBC connection string for " + adapter;
  w.known = false;
  if (adapter == "spark") w.hint = "databricks (Spark SQL)";
  if (adapter == "athena" || adapter == "presto") w.hint = "trino";
  return w;
}

std::vector<std::string> envVariables(const std::string& connection) {
  std::vector<std::string> out;
  for (size_t i = connection.find("${"); i != std::string::npos; i = connection.find("${", i + 2)) {
    const size_t end = connection.find('}', i + 2);
    if (end == std::string::npos) break;
    std::string name = connection.substr(i + 2, end - i - 2);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

}  // namespace datawatch::dbt
