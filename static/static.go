// Package static holds Planner's browser assets (stylesheet, icons, the
// widget), embedded in the binary so a deployment is one file.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

// Files are the assets, served under /static.
//
//go:embed *.css *.svg *.js swagger-ui/*.js swagger-ui/*.css swagger-ui/LICENSE swagger-ui/NOTICE swagger-ui/icons
var Files embed.FS

// Version is a digest of every asset, used as a cache-busting query so
// browsers may keep assets for a year and still see a new release at once.
func Version() string {
	h := sha256.New()
	_ = fs.WalkDir(Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := Files.ReadFile(path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
