# Shared by the deploy scripts (sourced, not run; PROG names the script in messages).
# They stay free of lib.sh on purpose: they run on a deploy machine with only bash and the AWS CLI.

die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}
info() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# packaging_bucket BUCKET ACCOUNT REGION: prints the S3 bucket for `aws cloudformation package`.
# An empty BUCKET means the managed one, customersupport-cfn-ACCOUNT-REGION, created on first use
# with public access blocked; a named BUCKET must exist already.
packaging_bucket() {
  local bucket=$1 account=$2 region=$3
  if [[ -n "$bucket" ]]; then
    aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 ||
      die "bucket $bucket does not exist or is not accessible (omit --bucket to use a managed one)"
    printf '%s\n' "$bucket"
    return
  fi
  bucket="customersupport-cfn-$account-$region"
  if ! aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; then
    info "creating packaging bucket s3://$bucket"
    local location=()
    # us-east-1 is the one region that rejects an explicit LocationConstraint.
    [[ "$region" == "us-east-1" ]] || location=(--create-bucket-configuration "LocationConstraint=$region")
    aws s3api create-bucket --bucket "$bucket" ${location[@]+"${location[@]}"} >/dev/null ||
      die "could not create bucket $bucket"
    aws s3api put-public-access-block --bucket "$bucket" --public-access-block-configuration \
      "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true" ||
      die "could not block public access on bucket $bucket"
  fi
  printf '%s\n' "$bucket"
}
