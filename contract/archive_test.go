package contract_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
)

// The consumer's hand-written archive lines decode to the entries
// encoding/json writes, whatever the strings hold.
func TestArchiveLinesMatchTheEntries(t *testing.T) {
	at := time.Now()
	odd := []string{"", "plain", "quote\" back\\ slash", "ctl\x00\x01\x1f\n\r\t", "<tag>&amp;", "bad\xff\xfeutf8", "sep\u2028\u2029", "café ☕ 𝄞"}
	for i, s := range odd {
		r := contract.Record{MessageID: "m-" + s, GroupID: s, DeduplicationID: s, SequenceNumber: "1884949646", ReceiveCount: i,
			SentAt: int64(i) * 1000, Body: []byte(s + "\x00body"),
			Attrs: []contract.Attr{{Name: contract.AttrEventID, Value: s}, {Name: "x-" + s, Value: s}, {Name: "bin", Binary: true}}}
		for _, pair := range [][2][]byte{
			{contract.AppendDelivery(nil, "src"+s, &r, at), contract.ArchiveDeliveryEntry("src"+s, &r, at).Line()},
			{contract.AppendOutcome(nil, "src", &r, contract.ArchiveDeadLettered, s, at), contract.ArchiveOutcomeEntry("src", &r, contract.ArchiveDeadLettered, s, at).Line()},
		} {
			var got, want contract.ArchiveEntry
			if err := json.Unmarshal(pair[0], &got); err != nil {
				t.Fatalf("%q: %v: %s", s, err, pair[0])
			}
			_ = json.Unmarshal(pair[1], &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q:\n got %+v\nwant %+v", s, got, want)
			}
			if bytes.Count(pair[0], []byte("\n")) != 1 || pair[0][len(pair[0])-1] != '\n' {
				t.Errorf("%q: not one line: %q", s, pair[0])
			}
		}
	}
}
