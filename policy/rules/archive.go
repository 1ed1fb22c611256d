package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookline/hookline/contract"
)

// Resource type tokens of the archive's buckets (pulumi-aws v6: a bucket
// and one resource per configuration, each naming its bucket).
const (
	TypeBucketV2         = "aws:s3/bucketV2:BucketV2"
	TypeBucketSSE        = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	TypeBucketPAB        = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	TypeBucketPolicy     = "aws:s3/bucketPolicy:BucketPolicy"
	TypeBucketLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	TypeBucketVersioning = "aws:s3/bucketVersioningV2:BucketVersioningV2"
)

// publicAccessSettings are the four settings of a public access block.
var publicAccessSettings = []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"}

// kmsAlgorithms are the default encryptions with a KMS key (SSE-KMS and
// dual-layer DSSE-KMS).
var kmsAlgorithms = []string{"aws:kms", "aws:kms:dsse"}

// configsOf finds the configurations of type typ that name bucket b (by
// its name, or at preview through the property dependencies of their
// bucket input); unsure reports a configuration of that type whose bucket
// cannot be told yet, which may be b's.
func (ix index) configsOf(b Resource, typ string) (found []Resource, unsure bool) {
	name, nst := b.str("bucket")
	for _, r := range ix.all {
		if r.Type != typ {
			continue
		}
		v, st := r.str("bucket")
		switch {
		case st == present && nst == present && v == name:
			found = append(found, r)
		case st == unknown && slices.Contains(r.PropertyDependencies["bucket"], b.URN):
			found = append(found, r)
		case st == unknown && len(r.PropertyDependencies["bucket"]) == 0:
			unsure = true
		}
	}
	return found, unsure
}

// archiveProtected: every S3 bucket of the stack — the archive holds every
// delivery's body, which may hold personal data, and the query results
// repeat it — is encrypted by default with a KMS key, blocks public access
// with all four settings, has a policy that denies requests without TLS,
// and expires its objects (a versioned bucket, its noncurrent versions).
// A value unknown at preview is left to
// could-not-judge; a configuration whose bucket cannot be told yet keeps
// the rule from calling that configuration missing.
func archiveProtected(rs []Resource, _ Config) []Finding {
	ix := newIndex(rs)
	var out []Finding
	for _, b := range rs {
		if b.Type != TypeBucketV2 {
			continue
		}
		name := b.Name
		if n, st := b.str("bucket"); st == present {
			name = n
		}
		add := func(format string, a ...any) {
			out = append(out, Finding{b.URN, fmt.Sprintf("bucket %s "+format, append([]any{name}, a...)...)})
		}

		if sse, unsure := ix.configsOf(b, TypeBucketSSE); !unsure || len(sse) > 0 {
			ok, judged, algo := false, len(sse) > 0, ""
			for _, c := range sse {
				rules, st := c.get("rules")
				if st == unknown {
					judged = false
					continue
				}
				list, _ := rules.([]any)
				for _, e := range list {
					r := Resource{Props: map[string]any{"r": e}}
					a, st := r.str("r", "applyServerSideEncryptionByDefault", "sseAlgorithm")
					switch {
					case st == unknown:
						judged = false
					case st == present && slices.Contains(kmsAlgorithms, a):
						ok = true
					case st == present:
						algo = a
					}
				}
			}
			switch {
			case ok:
			case len(sse) == 0:
				add("has no default encryption with a KMS key: add an aws.s3.BucketServerSideEncryptionConfigurationV2 with applyServerSideEncryptionByDefault {sseAlgorithm: aws:kms, kmsMasterKeyId: <the archive key>} and bucketKeyEnabled: true")
			case judged && algo != "":
				add("is encrypted with %s, not a KMS key: set sseAlgorithm aws:kms with kmsMasterKeyId <the archive key>, so who reads the archive is also decided by the key's permissions", algo)
			case judged:
				add("has an encryption configuration without a default encryption: set applyServerSideEncryptionByDefault {sseAlgorithm: aws:kms, kmsMasterKeyId: <the archive key>}")
			}
		}

		if pabs, unsure := ix.configsOf(b, TypeBucketPAB); !unsure || len(pabs) > 0 {
			var missing []string
			judged := true
			for _, k := range publicAccessSettings {
				on := false
				for _, c := range pabs {
					v, st := c.boolean(k)
					on = on || (st == present && v)
					judged = judged && st != unknown
				}
				if !on {
					missing = append(missing, k)
				}
			}
			switch {
			case len(pabs) == 0:
				add("does not block public access: add an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true")
			case judged && len(missing) > 0:
				add("blocks public access only in part: set %s true", strings.Join(missing, ", "))
			}
		}

		if pols, unsure := ix.configsOf(b, TypeBucketPolicy); !unsure || len(pols) > 0 {
			ok, judged := false, true
			for _, c := range pols {
				doc, st := c.jsonDoc("policy")
				judged = judged && st != unknown
				ok = ok || (st == present && deniesInsecure(doc))
			}
			if !ok && judged {
				add("accepts requests without TLS: add an aws.s3.BucketPolicy that denies s3:* on the bucket and its objects (arn:aws:s3:::%s and arn:aws:s3:::%s/*) when aws:SecureTransport is false", name, name)
			}
		}

		// A versioned bucket (the portal's Pulumi state, deploy/portal)
		// keeps its current objects, which are live state, not data with a
		// retention: it expires its noncurrent versions instead.
		versioned := false
		if vs, _ := ix.configsOf(b, TypeBucketVersioning); len(vs) > 0 {
			for _, v := range vs {
				if s, st := v.str("versioningConfiguration", "status"); st == present && s == "Enabled" {
					versioned = true
				}
			}
		}
		if lcs, unsure := ix.configsOf(b, TypeBucketLifecycle); !unsure || len(lcs) > 0 {
			ok, judged := false, true
			for _, c := range lcs {
				rules, st := c.get("rules")
				if st == unknown {
					judged = false
					continue
				}
				list, _ := rules.([]any)
				for _, e := range list {
					r := Resource{Props: map[string]any{"r": e}}
					exp, est := expires(r)
					whole, wst := wholeBucket(r)
					status, sst := r.str("r", "status")
					if est == unknown || wst == unknown || sst == unknown {
						judged = false
						continue
					}
					ok = ok || (exp && whole && status == "Enabled")
					if versioned {
						d, dst := r.number("r", "noncurrentVersionExpiration", "noncurrentDays")
						ok = ok || (dst == present && d > 0 && whole && status == "Enabled")
					}
				}
			}
			if !ok && judged && versioned {
				add("keeps its old versions forever: add an aws.s3.BucketLifecycleConfigurationV2 with an Enabled rule for every object (an empty filter) whose noncurrentVersionExpiration.noncurrentDays bounds how long replaced versions stay")
			} else if !ok && judged {
				add("keeps its objects forever: add an aws.s3.BucketLifecycleConfigurationV2 with an Enabled rule for every object (an empty filter) whose expiration is the retention in days (hookline:archive.retentionDays)")
			}
		}
	}
	return out
}

// expires reports whether a lifecycle rule (under "r") expires objects.
func expires(r Resource) (bool, state) {
	if d, st := r.number("r", "expiration", "days"); st != absent {
		return st == present && d > 0, st
	}
	_, st := r.str("r", "expiration", "date")
	return st == present, st
}

// wholeBucket reports whether a lifecycle rule (under "r") applies to every
// object: no filter, or one with no prefix (or an empty one), tag, size or
// "and"; a rule's own prefix (the older form) likewise.
func wholeBucket(r Resource) (bool, state) {
	if p, st := r.str("r", "prefix"); st != absent {
		return st == present && p == "", st
	}
	f, st := r.get("r", "filter")
	if st != present {
		return st == absent, st
	}
	m, ok := f.(map[string]any)
	if !ok {
		return false, present
	}
	for k, v := range m {
		v = unwrap(v)
		if _, isUnknown := v.(Unknown); isUnknown {
			return false, unknown
		}
		if k == "prefix" && v == "" || v == nil {
			continue
		}
		if l, isList := v.([]any); isList && len(l) == 0 {
			continue
		}
		return false, present
	}
	return true, present
}

// archivePresent: a hookline consumer (a function of a hookline stack that
// an SQS event source mapping invokes) whose environment names no archive
// stream archives nothing: its deliveries cannot be searched or replayed
// later (advisory: hookline:archive enabled: false turns it off on purpose).
func archivePresent(rs []Resource, _ Config) []Finding {
	ix := newIndex(rs)
	seen := map[string]bool{}
	var out []Finding
	for _, m := range rs {
		if m.Type != TypeMapping {
			continue
		}
		if arn, st := m.str("eventSourceArn"); st == present && !isSQSArn(arn) {
			continue
		}
		_, fn := ix.consumer(m)
		if fn == nil || seen[fn.URN] {
			continue
		}
		seen[fn.URN] = true
		if _, st := fn.str("tags", tagEnvironment); st != present {
			continue // not a hookline function
		}
		vars, st := fn.get("environment", "variables")
		if st == unknown {
			continue
		}
		if m, ok := vars.(map[string]any); ok {
			if _, has := m[contract.EnvArchiveStream]; has {
				continue
			}
		}
		out = append(out, Finding{fn.URN, fmt.Sprintf("function %s archives no delivery (%s unset): its webhooks cannot be searched or replayed later; turn hookline:archive on (the default) for every delivery to be kept, encrypted, for hookline:archive.retentionDays", fn.Name, contract.EnvArchiveStream)})
	}
	return out
}
