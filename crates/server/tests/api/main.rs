//! Integration tests: the real server over real HTTP on port 0, with a fresh SQLite data
//! dir per test.

mod access_matrix;
mod analytics;
mod auth;
mod feedback;
mod helpers;
mod import;
mod journey;
mod lists;
mod people;
mod plans;
mod sdk;
mod surveys;
mod today;
mod tracking;
mod validation;
mod voice;
mod work;
