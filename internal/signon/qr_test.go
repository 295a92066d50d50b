package signon

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/boombuler/barcode/qr"
)

// modules reads the path data of a qrImage back into its grid of dark
// modules; it fails on anything but the runs qrCode draws.
func modules(t *testing.T, img qrImage) [][]bool {
	t.Helper()
	grid := make([][]bool, img.Size)
	for i := range grid {
		grid[i] = make([]bool, img.Size)
	}
	run := regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	rest := img.Path
	for rest != "" {
		m := run.FindStringSubmatch(rest)
		if m == nil || m[3] != m[4] {
			t.Fatalf("unexpected path data at %.40q", rest)
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		if y >= img.Size || x+n > img.Size {
			t.Fatalf("run %q leaves the %d×%d image", m[0], img.Size, img.Size)
		}
		for i := x; i < x+n; i++ {
			if grid[y][i] {
				t.Fatalf("module %d,%d drawn twice", i, y)
			}
			grid[y][i] = true
		}
		rest = rest[len(m[0]):]
	}
	return grid
}

const keyURI = "otpauth://totp/Gatehouse:ada.lovelace@example.com?algorithm=SHA1&digits=6&issuer=Gatehouse&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// TestQRCodeModules: the SVG path draws exactly the encoder's modules,
// inside a blank quiet zone of four modules, with the three finder
// patterns where readers look for them.
func TestQRCodeModules(t *testing.T) {
	for _, text := range []string{keyURI, "otpauth://totp/x?secret=AA", keyURI + "&image=" + strings.Repeat("a", 200)} {
		img, err := qrCode(text)
		if err != nil {
			t.Fatal(err)
		}
		want, err := qr.Encode(text, qr.M, qr.Auto)
		if err != nil {
			t.Fatal(err)
		}
		dim := want.Bounds().Dx()
		if img.Size != dim+2*qrQuietZone {
			t.Fatalf("size %d, want %d modules and a quiet zone of %d", img.Size, dim, qrQuietZone)
		}
		grid := modules(t, img)
		for y := 0; y < img.Size; y++ {
			for x := 0; x < img.Size; x++ {
				inside := x >= qrQuietZone && y >= qrQuietZone && x < qrQuietZone+dim && y < qrQuietZone+dim
				w := false
				if inside {
					// The encoder's own colours, not the code's reading of them.
					w = want.At(x-qrQuietZone, y-qrQuietZone) == color.Black
				}
				if grid[y][x] != w {
					t.Fatalf("%.30q: module %d,%d is dark=%v, the encoder says %v", text, x, y, grid[y][x], w)
				}
			}
		}
		// A finder pattern: a dark 7×7 ring, a light ring, a dark 3×3 core.
		for _, c := range [][2]int{{0, 0}, {dim - 7, 0}, {0, dim - 7}} {
			for dy := 0; dy < 7; dy++ {
				for dx := 0; dx < 7; dx++ {
					ring := dx == 0 || dy == 0 || dx == 6 || dy == 6
					core := dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4
					if got := grid[qrQuietZone+c[1]+dy][qrQuietZone+c[0]+dx]; got != (ring || core) {
						t.Fatalf("finder pattern at %v: module %d,%d is dark=%v", c, dx, dy, got)
					}
				}
			}
		}
	}
	a, _ := qrCode(keyURI)
	b, _ := qrCode(strings.Replace(keyURI, "JBSW", "KBSW", 1))
	if a.Path == b.Path {
		t.Fatal("two secrets draw the same code")
	}
}

// TestQRCodeScans: a real QR reader (zbar) reads the key URI back from the
// modules the page draws, rasterised as a screen would show them.
func TestQRCodeScans(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zbarimg is not installed: the QR code of the TOTP enrolment cannot be read back (.ci/run installs zbar-tools)")
		}
		t.Skip("SKIPPING: zbarimg is not installed (apt-get install zbar-tools); the QR code is NOT read back")
	}
	img, err := qrCode(keyURI)
	if err != nil {
		t.Fatal(err)
	}
	grid := modules(t, img)
	const scale = 6
	raster := image.NewGray(image.Rect(0, 0, img.Size*scale, img.Size*scale))
	for y := range raster.Bounds().Dy() {
		for x := range raster.Bounds().Dx() {
			c := color.Gray{Y: 0xff}
			if grid[y/scale][x/scale] {
				c = color.Gray{}
			}
			raster.SetGray(x, y, c)
		}
	}
	file := filepath.Join(t.TempDir(), "qr.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, raster); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimRight(string(out), "\n"); got != keyURI {
		t.Fatalf("the QR code reads %q, want %q", got, keyURI)
	}
}
