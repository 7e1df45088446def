// Package static embeds the console's CSS, JavaScript and vendored libraries
// (htmx from npm), so the app never loads anything from a CDN.
package static

import "embed"

// FS holds every static file.
//
//go:embed *.css *.js *.svg vendor
var FS embed.FS
