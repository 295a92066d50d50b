package signon

import (
	"fmt"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// qrQuietZone is the blank margin, in modules, that QR readers need
// around the code (ISO/IEC 18004 asks for four).
const qrQuietZone = 4

// qrImage is a QR code drawn as SVG path data: the page inlines it in an
// <svg> element. Inline, it needs nothing from the Content-Security-Policy
// (no data: image, no image endpoint that would serve the TOTP secret
// from a URL of its own), and it is drawn on the server: no external
// service sees the key URI.
type qrImage struct {
	// Size is the width and height in modules, quiet zone included: the
	// SVG's viewBox.
	Size int
	// Path draws the dark modules, one subpath per run of dark modules in
	// a row, in viewBox units (one module each).
	Path string
}

// qrCode encodes text (an otpauth:// key URI) as a QR code with medium
// error correction: enough to survive a screen's glare, small enough to
// keep the modules large for a phone's camera.
func qrCode(text string) (qrImage, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return qrImage{}, fmt.Errorf("qr code: %w", err)
	}
	dim := code.Bounds().Dx()
	var p strings.Builder
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; {
			if !dark(code, x, y) {
				x++
				continue
			}
			run := 1
			for x+run < dim && dark(code, x+run, y) {
				run++
			}
			// A run is one rectangle: fewer bytes than a square per
			// module, and no hairline seams between neighbours.
			fmt.Fprintf(&p, "M%d %dh%dv1h-%dz", x+qrQuietZone, y+qrQuietZone, run, run)
			x += run
		}
	}
	return qrImage{Size: dim + 2*qrQuietZone, Path: p.String()}, nil
}

// dark reports whether the module at x, y is dark.
func dark(code barcode.Barcode, x, y int) bool {
	r, _, _, _ := code.At(x, y).RGBA()
	return r < 0x8000
}
