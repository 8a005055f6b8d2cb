mod corpus;
mod engine;
mod parquet_fixture;
mod streamed;
mod streamed_parquet;
