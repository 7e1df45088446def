// Package static embeds the console's CSS and JavaScript, so the app never
// loads anything from a CDN.
package static

import "embed"

// FS holds every static file.
//
//go:embed *.css *.js *.svg
var FS embed.FS
