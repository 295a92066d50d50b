package audit

import "testing"

func TestActions(t *testing.T) {
	for typ, want := range map[string]Action{
		UserCreated:            {Description: "User Created", ResourceType: ResUser},
		PasswordCheckSucceeded: {Description: "Password Check Succeeded", ResourceType: ResUser},
		OTPCheckFailed:         {Description: "OTP Check Failed", ResourceType: ResUser},
		IDPAttributeUpdated:    {Description: "IDP Attribute Updated", ResourceType: ResIdentityProvider},
		AccessTokenCreated:     {Description: "Access Token Created", ResourceType: ResApplication, Own: true},
		SOPAssignmentDeleted:   {Description: "Sign On Policy Assignment Deleted", ResourceType: ResApplication},
	} {
		if got := Actions[typ]; got != want {
			t.Errorf("%s: %+v, want %+v", typ, got, want)
		}
	}
	own := 0
	for typ, a := range Actions {
		if a.Description == "" || a.ResourceType == "" {
			t.Errorf("%s: %+v", typ, a)
		}
		if a.Own {
			own++
		}
	}
	if own != 4 {
		t.Errorf("%d types of Gatehouse's own, want 4", own)
	}
	a := Failure(NewActivity("env", UserLocked), "why")
	if a.EnvironmentID != "env" || a.ActionType != UserLocked || a.ActionDescription != "User Locked" || a.ResultStatus != ResultFailed || a.ResultDescription != "why" {
		t.Errorf("activity %+v", a)
	}
}
