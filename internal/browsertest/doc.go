// Package browsertest drives approvald's own pages (web/) in headless
// Chromium with chromedp and in headless Firefox ESR over WebDriver BiDi,
// against a real approvald on PostgreSQL + Redis with its SMS going to a
// local webhook inbox and a test authenticator answering pushes. Its tests
// live in _test.go files; this file only names the package.
package browsertest
