package wire

import "encoding/json"

// Certificate is PingOne's certificate resource (its SDK's
// management.Certificate): a certificate an administrator uploaded,
// described from what the certificate itself says.
type Certificate struct {
	Links              Links  `json:"_links"`
	ID                 string `json:"id"`
	Environment        Ref    `json:"environment"`
	Organization       Ref    `json:"organization"`
	Name               string `json:"name"`
	Algorithm          string `json:"algorithm"`
	KeyLength          int    `json:"keyLength"`
	SignatureAlgorithm string `json:"signatureAlgorithm"`
	SubjectDN          string `json:"subjectDN"`
	IssuerDN           string `json:"issuerDN"`
	UsageType          string `json:"usageType"`
	Default            bool   `json:"default"`
	// SerialNumber is a JSON number of any size (the SDK reads a
	// big.Int): certificates from elsewhere carry serials far beyond int64.
	SerialNumber   json.Number `json:"serialNumber"`
	ValidityPeriod int         `json:"validityPeriod"`
	Status         string      `json:"status"`
	StartsAt       Time        `json:"startsAt"`
	ExpiresAt      Time        `json:"expiresAt"`
	CreatedAt      Time        `json:"createdAt"`
}
