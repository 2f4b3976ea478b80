// The country picker beside phone fields. A number typed with "+" (or "00")
// is sent as it is, in E.164; national digits go with the picked country's
// calling code, which the API turns into E.164 ("country_code").

const COUNTRIES = [
  ['AR', 'Argentina', '54'], ['AU', 'Australia', '61'], ['AT', 'Austria', '43'], ['BD', 'Bangladesh', '880'],
  ['BE', 'Belgium', '32'], ['BR', 'Brazil', '55'], ['CA', 'Canada', '1'], ['CL', 'Chile', '56'],
  ['CN', 'China', '86'], ['CO', 'Colombia', '57'], ['DK', 'Denmark', '45'], ['EG', 'Egypt', '20'],
  ['FI', 'Finland', '358'], ['FR', 'France', '33'], ['DE', 'Germany', '49'], ['GR', 'Greece', '30'],
  ['HK', 'Hong Kong', '852'], ['IN', 'India', '91'], ['ID', 'Indonesia', '62'], ['IE', 'Ireland', '353'],
  ['IL', 'Israel', '972'], ['IT', 'Italy', '39'], ['JP', 'Japan', '81'], ['KE', 'Kenya', '254'],
  ['MY', 'Malaysia', '60'], ['MX', 'Mexico', '52'], ['NL', 'Netherlands', '31'], ['NZ', 'New Zealand', '64'],
  ['NG', 'Nigeria', '234'], ['NO', 'Norway', '47'], ['PK', 'Pakistan', '92'], ['PH', 'Philippines', '63'],
  ['PL', 'Poland', '48'], ['PT', 'Portugal', '351'], ['RO', 'Romania', '40'], ['SA', 'Saudi Arabia', '966'],
  ['SG', 'Singapore', '65'], ['ZA', 'South Africa', '27'], ['KR', 'South Korea', '82'], ['ES', 'Spain', '34'],
  ['SE', 'Sweden', '46'], ['CH', 'Switzerland', '41'], ['TW', 'Taiwan', '886'], ['TH', 'Thailand', '66'],
  ['TR', 'Turkey', '90'], ['UA', 'Ukraine', '380'], ['AE', 'United Arab Emirates', '971'],
  ['GB', 'United Kingdom', '44'], ['US', 'United States', '1'], ['VN', 'Vietnam', '84'],
];

// fillCountries fills a <select> and picks the browser's region (else US).
export function fillCountries(select) {
  const region = (navigator.language || '').split('-')[1] || '';
  const pick = COUNTRIES.some(([cc]) => cc === region.toUpperCase()) ? region.toUpperCase() : 'US';
  for (const [cc, name, code] of COUNTRIES) {
    const opt = document.createElement('option');
    opt.value = cc;
    opt.textContent = `${cc} +${code}`;
    opt.title = name;
    opt.selected = cc === pick;
    select.append(opt);
  }
}

// isInternational: typed with its country code.
export function isInternational(value) {
  return /^\s*(\+|00)/.test(value);
}

// phoneFields is the API's {phone, country_code?} for what was typed.
export function phoneFields(select, value) {
  const v = value.trim();
  if (isInternational(v)) return { phone: v.replace(/^00/, '+').replace(/[\s().-]/g, '') };
  const entry = COUNTRIES.find(([cc]) => cc === select.value);
  return { phone: v.replace(/[\s().-]/g, ''), country_code: entry ? entry[2] : '' };
}
