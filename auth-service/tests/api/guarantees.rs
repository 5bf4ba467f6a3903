//! Promises of API.md that must hold when requests do not come one at a time
//! or do not come as expected: each file races real threads or real requests
//! against a real database on both backends.

mod oauth_bodies;
