// Package scim parses the SCIM filter expressions accepted by PingOne's
// management API and compiles them into parameterised SQL WHERE fragments.
//
// The grammar is the subset of RFC 7644 §3.4.2.2 that PingOne accepts, in
// PingOne's dialect: keywords and operators are case-insensitive because
// clients such as the PingOne Terraform provider emit upper-case AND/OR, and
// "not(" without a space is accepted because real clients send it.
//
// Filters are untrusted input, so compilation works from an allow-list: each
// resource supplies a [Schema] that maps the attribute paths it exposes to
// SQL column expressions. Attribute names never reach SQL, and every value
// is passed as a "?" argument. Parsing is bounded in length, nesting depth
// and number of comparisons so that a hostile filter cannot exhaust the
// stack or produce a query the database takes long to plan.
//
// The same SQL text is used on SQLite and PostgreSQL, so it sticks to syntax
// both accept. "sw" (starts with) compiles to a half-open range rather than
// LIKE 'prefix%' because a plain B-tree index serves a range on both
// databases, whereas PostgreSQL only uses an index for LIKE under the C
// collation or with a text_pattern_ops index, and SQLite only when its LIKE
// case-sensitivity matches the index collation.
//
// Two properties of the stored columns keep results identical on both
// databases, and the store is responsible for them:
//   - Range and ordering comparisons (sw, gt, ge, lt, le) assume byte-wise
//     ordering. That is SQLite's default BINARY collation; on PostgreSQL the
//     columns need COLLATE "C" (or a C-collated database).
//   - SQLite's LIKE ignores ASCII case and PostgreSQL's does not, so co and
//     ew agree only on columns holding a lower-cased copy ([Attribute].Fold).
package scim
