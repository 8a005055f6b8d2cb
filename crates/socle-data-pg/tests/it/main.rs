mod corpus;
mod engine;
