mod answers;
mod load;
mod results;
mod rounds;
