package infra_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
)

// TestSealKey: each stack has one KMS HMAC key under an alias written from
// known parts; every consumer names the alias in its environment and may
// only verify MACs with it (kms:VerifyMac on the key carrying the alias,
// never GenerateMac): a handler can check a re-send's sealed receipt time,
// never mint one. The output sealKey is the alias ARN redrive uses.
func TestSealKey(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			res := runPlan(t, "..", stack)
			c := res.Config
			model := awsmodel.New(c.Region)
			aliasARN := fmt.Sprintf("arn:aws:kms:%s:%s:%s", c.Region, model.Account, c.SealKeyAlias())
			// The seal key and its alias (the archive has a key of its own).
			var keys, aliases []plan.Resource
			for _, k := range res.Find("aws:kms/key:Key") {
				if k.Name == "hookline-seal" {
					keys = append(keys, k)
				}
			}
			for _, a := range res.Find("aws:kms/alias:Alias") {
				if a.Name == "hookline-seal" {
					aliases = append(aliases, a)
				}
			}
			if len(keys) != 1 || len(aliases) != 1 {
				t.Fatalf("%d keys, %d aliases, want one each", len(keys), len(aliases))
			}
			k := keys[0].Inputs
			if k["customerMasterKeySpec"] != "HMAC_256" || k["keyUsage"] != "GENERATE_VERIFY_MAC" || k["enableKeyRotation"] == true {
				t.Errorf("seal key inputs %v", k)
			}
			if aliases[0].Inputs["name"] != c.SealKeyAlias() {
				t.Errorf("alias %v", aliases[0].Inputs["name"])
			}
			if res.Outputs["sealKey"] != aliasARN {
				t.Errorf("output sealKey %v, want %s", res.Outputs["sealKey"], aliasARN)
			}
			for _, s := range c.Sources {
				fn := findNamed(t, res, "aws:lambda/function:Function", c.FunctionName(s))
				if got := path(fn.Inputs, "environment.variables."+contract.EnvSealKey); got != aliasARN {
					t.Errorf("%s: %s = %v", s.Name, contract.EnvSealKey, got)
				}
				pol := findNamed(t, res, "aws:iam/rolePolicy:RolePolicy", "consume-"+s.Name)
				var doc struct {
					Statement []struct {
						Sid       string
						Action    []string
						Resource  any
						Condition map[string]map[string]string
					}
				}
				if err := json.Unmarshal([]byte(pol.Inputs["policy"].(string)), &doc); err != nil {
					t.Fatal(err)
				}
				kmsActions := 0
				for _, st := range doc.Statement {
					for _, a := range st.Action {
						if len(a) > 4 && a[:4] == "kms:" {
							kmsActions++
							if a != "kms:VerifyMac" || st.Resource != fmt.Sprintf("arn:aws:kms:%s:%s:key/*", c.Region, model.Account) ||
								st.Condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"] != c.SealKeyAlias() {
								t.Errorf("%s: KMS grant %+v", s.Name, st)
							}
						}
					}
				}
				if kmsActions != 1 {
					t.Errorf("%s: %d KMS actions, want kms:VerifyMac alone", s.Name, kmsActions)
				}
			}
		})
	}
}

// findNamed is the resource of type typ whose name input is name.
func findNamed(t *testing.T, res *plan.Result, typ, name string) plan.Resource {
	t.Helper()
	for _, r := range res.Find(typ) {
		if r.Inputs["name"] == name {
			return r
		}
	}
	t.Fatalf("no %s named %s", typ, name)
	return plan.Resource{}
}
