package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
)

func TestZZSmoke(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	tok := s.AdminToken(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, c1 := chromedp.NewExecAllocator(context.Background(), opts...)
	defer c1()
	ctx, c2 := chromedp.NewContext(actx)
	defer c2()
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			fmt.Println("CONSOLE:", m.Type, m.Text, m.URL, m.Line)
		}
	}()
	val, _ := json.Marshal(map[string]any{"access": tok, "refresh": "", "id": "", "expiresAt": time.Now().Add(time.Hour).UnixMilli()})
	js := fmt.Sprintf(`sessionStorage.setItem('gatehouse.console.token', %q); 1`, string(val))
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/console/config.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](js)); err != nil {
		t.Fatal(err)
	}
	step := func(name, hash string) {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/console/"+hash)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('main').innerText + '\n---NAV---\n' + document.getElementById('nav').innerText`))
		fmt.Println("=====", name, err, "\n", txt)
		png, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		os.WriteFile("/tmp/smoke-"+name+".png", png, 0o644)
	}
	step("envs", "#/environments")
	step("new", "#/environments/new")
	// fill and submit
	chromedp.Run(ctx, chromedp.Evaluate[int](`(()=>{const l=[...document.querySelectorAll('label')].find(l=>l.textContent.startsWith('Name'));document.getElementById(l.htmlFor).value='dev1';document.querySelector('form button[type=submit]').click();return 1})()`))
	time.Sleep(2 * time.Second)
	txt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + '\n' + document.getElementById('main').innerText`))
	fmt.Println("===== after create\n", txt)
	png, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	os.WriteFile("/tmp/smoke-created.png", png, 0o644)
	// duplicate name → error at field?
	step("new2", "#/environments/new")
	chromedp.Run(ctx, chromedp.Evaluate[int](`(()=>{const l=[...document.querySelectorAll('label')].find(l=>l.textContent.startsWith('Name'));document.getElementById(l.htmlFor).value='dev1';document.querySelector('form button[type=submit]').click();return 1})()`))
	time.Sleep(2 * time.Second)
	txt, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('main').innerText`))
	fmt.Println("===== dup\n", txt)
	png, _ = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	os.WriteFile("/tmp/smoke-dup.png", png, 0o644)
}
