// Package scim parses the SCIM filter expressions accepted by PingOne's
// management API into a tree ([Expr]) and defines the error ([Error]) every
// mistake in a filter is reported with.
//
// The grammar is the subset of RFC 7644 §3.4.2.2 that PingOne accepts, in
// PingOne's dialect: keywords and operators are case-insensitive because
// clients such as the PingOne Terraform provider emit upper-case AND/OR, and
// "not(" without a space is accepted because real clients send it.
//
// Filters are untrusted input, so parsing is bounded in length, nesting depth
// and number of comparisons: a hostile filter can neither exhaust the stack
// nor grow into a query the database takes long to plan.
//
// The package knows no resource and no storage. Which attributes a list
// takes, with which operators and values, is decided where the filter is
// evaluated: the SQL store (internal/store/sqlstore) holds each list's
// allow-list and compiles the tree into parameterised SQL, reporting what it
// refuses as an [Error] too, so a client sees one kind of error for every
// filter it got wrong.
package scim
